"""The browsable API page (Swagger UI from local npm assets) loads the OpenAPI document and
shows the operations with their response schemas; no request leaves the machine."""

from __future__ import annotations

from urllib.parse import urlsplit


def test_api_page_is_local_and_complete(page, server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Sanchika e-Office API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator("#operations-api-get_api_v1_tasks").wait_for()
    page.locator("#operations-api-get_api_v1_tasks .opblock-summary").click()
    page.locator("#operations-api-get_api_v1_tasks .responses-table").wait_for()
    assert "200" in page.locator("#operations-api-get_api_v1_tasks .responses-table").inner_text()
    own = urlsplit(server).netloc
    outside = [u for u in requested
               if not u.startswith("data:") and urlsplit(u).netloc != own]
    assert outside == [], outside
    assert any(u.endswith("/api/v1/openapi.json") for u in requested)
