"""End-to-end tests: the JSON API over a real socket to the waitress server that
`sanchika serve` runs (or real `sanchika serve` processes), where the API tests elsewhere
call the application in-process. Kept few: each starts a server."""

from __future__ import annotations

import pytest

from tests.clients import HttpClient


@pytest.fixture
def api(http_api: HttpClient) -> HttpClient:
    return http_api
