"""Two API clients with one interface: `AppClient` calls the Flask application in-process
(Flask's test client: the API tests), `HttpClient` talks HTTP to a real waitress server
(the end-to-end tests). Both sign in per user with a bearer token and answer with
something shaped like a `requests.Response` (status_code, text, content, headers, json())."""

from __future__ import annotations

import io
import json as jsonlib
from typing import Any

import requests
from flask import Flask
from werkzeug.datastructures import MultiDict

PASSWORD = "demo-pass-1"


class BaseClient:
    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    def login(self, username: str, password: str = PASSWORD) -> str:
        r = self.request("POST", "/api/v1/auth/token",
                         json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        self.tokens[username] = r.json()["token"]
        return self.tokens[username]

    def call(self, method: str, path: str, user: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if user is not None:
            if user not in self.tokens:
                self.login(user)
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        return self.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def get(self, path: str, user: str | None = None, **kw: Any) -> Any:
        return self.call("GET", path, user, **kw)

    def post(self, path: str, user: str | None = None, **kw: Any) -> Any:
        return self.call("POST", path, user, **kw)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError


class HttpClient(BaseClient):
    """Over a real socket, as a browser or an outside system calls the server."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.base}{path}", timeout=30, **kwargs)


class Reply:
    """A Flask test response with the parts of requests.Response the tests read."""

    def __init__(self, response: Any):
        self.status_code: int = response.status_code
        self.content: bytes = response.get_data()
        self.headers = response.headers
        self.ok = self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class AppClient(BaseClient):
    """In-process through Flask's test client: the whole WSGI application (routing,
    authentication, CSRF exemptions, error handlers), without a socket or a thread."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        params = kwargs.pop("params", None)
        files = kwargs.pop("files", None)
        data = kwargs.pop("data", None)
        if files is not None or isinstance(data, dict):
            form: MultiDict = MultiDict()
            for key, value in (data or {}).items():
                form.add(key, str(value))
            parts = files.items() if isinstance(files, dict) else (files or [])
            for field, (filename, content, content_type) in parts:
                form.add(field, (io.BytesIO(content), filename, content_type))
            data = form
        client = self.app.test_client()  # one per call: safe from several threads at once
        response = client.open(path, method=method, query_string=params, data=data, **kwargs)
        try:
            return Reply(response)
        finally:
            response.close()
