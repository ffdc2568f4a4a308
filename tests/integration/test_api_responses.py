"""The OpenAPI document describes every operation's response, and real responses match it
(checked with jsonschema against the served document)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from tests.flow import act, diarise, task_for

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(api) -> dict:
    r = api.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable` -> JSON Schema's null type (the rest is the same)."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def operation(spec: dict, method: str, url: str) -> tuple[str, dict]:
    path = url.split("?")[0]
    for template, ops in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return template, ops[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def check(spec: dict, r, method: str, url: str) -> None:
    template, op = operation(spec, method, f"/api/v1{url}")
    documented = op["responses"].get(str(r.status_code)) or op["responses"]["default"]
    if "$ref" in documented:
        documented = spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    schema = documented["content"]["application/json"]["schema"]
    root = {**to_json_schema(schema), "components": to_json_schema(spec["components"])}
    try:
        jsonschema.validate(r.json(), root)
    except jsonschema.ValidationError as exc:
        raise AssertionError(f"{method} {template} {r.status_code}: {exc.message} at "
                             f"{list(exc.absolute_path)}") from None


def test_every_operation_has_a_response_schema(spec):
    missing = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in METHODS:
                continue
            success = [c for c in op["responses"] if c.startswith("2")]
            if not success:
                missing.append(f"{method.upper()} {path}")
                continue
            for code in success:
                if code != "204" and "content" not in op["responses"][code]:
                    missing.append(f"{method.upper()} {path} {code}")
            assert "default" in op["responses"], (method, path)
    assert missing == []
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert spec["paths"]["/api/v1/tasks"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["type"] == "array"


def test_real_responses_match_the_document(api, spec):
    def call(method: str, url: str, user: str | None, status: int, **kw) -> Any:
        r = api.call(method, url, user, **kw)
        assert r.status_code == status, r.text
        check(spec, r, method, url)
        return r.json()

    call("POST", "/auth/token", None, 200, json={"username": "clerk", "password": "demo-pass-1"})
    call("GET", "/me", "clerk", 200)
    call("GET", "/health", None, 200)
    receipt = diarise(api, "clerk", subject="Schema check")
    call("GET", f"/receipts/{receipt['id']}", "clerk", 200)
    file = call("POST", "/files", "clerk", 201, json={"subject": "Schema file", "head": "11013"})
    call("GET", "/files", "clerk", 200, params={"q": "Schema"})
    call("POST", f"/files/{file['id']}/notes", "clerk", 201, json={"text": "para"})
    yellow = call("POST", f"/files/{file['id']}/yellow-notes", "clerk", 201,
                  json={"text": "a draft"})
    call("PATCH", f"/yellow-notes/{yellow['id']}", "clerk", 200, json={"text": "redrafted"})
    call("GET", f"/files/{file['id']}/yellow-notes", "clerk", 200)
    call("GET", f"/files/{file['id']}", "clerk", 200)
    task = task_for(api, "clerk", file_id=file["id"])
    call("GET", "/tasks", "clerk", 200)
    call("POST", f"/tasks/{task['id']}", "clerk", 200, json={"action": "forward", "to": "ds"})
    act(api, "ds", task_for(api, "ds", file_id=file["id"])["id"], action="approve")
    call("GET", f"/files/{file['id']}/track", "clerk", 200)
    call("GET", f"/files/{file['id']}/history", "auditor", 200)
    call("GET", "/notifications", "clerk", 200)
    call("GET", "/process-definitions", "designer", 200)
    call("GET", "/search", "clerk", 200, params={"q": "Schema"})
    call("GET", "/sent", "clerk", 200)
    call("GET", "/parked", "clerk", 200)
    call("GET", "/grants", "clerk", 200, params={"file_id": file["id"]})
    call("GET", "/admin/holidays", "admin", 200)
    call("GET", "/admin/sla-rules", "admin", 200)
    call("GET", "/admin/calendar", "admin", 200)
    call("GET", "/admin/subject-heads", "admin", 200)
    head = call("POST", "/admin/subject-heads", "admin", 201,
                json={"department": "GAD", "code": "1999", "title": "Schema checks"})
    call("POST", f"/admin/subject-heads/{head['id']}/retire", "admin", 200)
    call("GET", "/admin/audit", "admin", 200)
    call("GET", "/reports/pendency", "auditor", 200)
    call("GET", f"/files/{file['id']}/replay", "auditor", 200)
    # errors: the documented error body
    call("GET", "/files/999999", "clerk", 404)
    call("GET", "/tasks", None, 401)
    call("POST", "/files", "clerk", 422, json={"subject": ""})
    call("POST", f"/tasks/{task_for(api, 'clerk', file_id=file['id'])['id']}", "clerk", 422,
         json={"action": "close"})
