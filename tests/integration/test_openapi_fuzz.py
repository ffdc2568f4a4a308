"""The OpenAPI document describes the API: a bounded schemathesis run over every operation
of /api/v1/openapi.json, through the WSGI app, with every built-in check, as a clerk and
as the administrator, with valid and with invalid input. No 5xx, no response that breaks
the document, invalid input refused.

SANCHIKA_FUZZ_EXAMPLES sets the examples per operation, identity and mode (default 3:
about 1,300 requests in all; the issue's full run used ~29,000), SANCHIKA_FUZZ_SEED the
seed they are drawn with (default 0: every run draws the same examples)."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, seed  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from tests.conftest import PASSWORD  # noqa: E402

EXAMPLES = int(os.environ.get("SANCHIKA_FUZZ_EXAMPLES", "3"))
SEED = int(os.environ.get("SANCHIKA_FUZZ_SEED", "0"))
# Operations that end the caller's own sessions: after one, the identity signs in again.
ENDS_SESSIONS = {("DELETE", "/api/v1/auth/token"), ("POST", "/api/v1/auth/sign-off-everywhere"),
                 ("POST", "/api/v1/me/password")}
IDENTITIES = ("clerk", "admin")
# Every check runs. Schema-valid input can still break a rule of the office that a schema
# cannot say (a subject head that does not exist, a wrong old password): the API answers
# those 422 naming the field, so positive data acceptance counts 422 as an answer too.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({"checks": {
    "positive_data_acceptance": {"expected-statuses": [
        "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]}}})


@pytest.fixture
def fewer_collections() -> Iterator[None]:
    """Hypothesis and schemathesis make millions of short-lived objects: the cyclic
    collector took an eighth of the run's CPU, its full passes walking every object of the
    process again and again. During the run what lived before it (modules, the app, the
    templates) is frozen out of collections, young objects are collected less often, and a
    full pass waits for the end."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(5000, 20, 1000)
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


def _token(client: Any, username: str) -> str:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["token"]


# One test per identity and mode, so that the two workers of scripts/test share the run.
@pytest.mark.usefixtures("fewer_collections")
@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("identity", IDENTITIES)
def test_the_api_matches_its_document(settings: Any, demo: Any, identity: str,
                                      mode: str) -> None:
    from web.app import create_app

    app = create_app(settings, demo)
    client = app.test_client()
    tokens = {identity: _token(client, identity)}
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    # the fuzzer must not guess its way into locking out its own identities' address
    demo.throttle_policy = type(demo.throttle_policy)(ip_failures=10**9)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    failures: list[str] = []
    calls = {"n": 0, "5xx": 0}

    def fuzz(operation: Any, key: tuple[str, str], identity: str, mode: Any) -> Any:
        def run(case: Any) -> None:
            headers = {"Authorization": f"Bearer {tokens[identity]}"}
            try:
                response = case.call_and_validate(headers=headers)
                status = response.status_code
            except (Exception, BaseExceptionGroup) as exc:  # a failed check: noted, go on
                status = getattr(getattr(exc, "response", None), "status_code", None)
                lines = [ln.strip() for ln in str(exc).splitlines()]
                found = [ln for ln in lines if ln.startswith(("- ", "[", "`"))] or lines[:1]
                failures.append(f"{key[0]} {key[1]} as {identity}: "
                                + " | ".join(found)[:400])
            calls["n"] += 1
            if status is not None and status >= 500:
                calls["5xx"] += 1
            if key in ENDS_SESSIONS:
                tokens[identity] = _token(client, identity)

        # A fixed seed rather than `derandomize`, which hashes the test's source on every
        # run; so does the database key, even with no database: both together were a
        # twentieth of the CPU, over 112 operations. No database, so no key (a private
        # attribute, which schemathesis sets likewise for its own examples).
        test = seed(SEED)(given(case=operation.as_strategy(generation_mode=mode))(
            hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None,
                                suppress_health_check=list(HealthCheck))(run)))
        test._hypothesis_internal_database_key = b""
        return test

    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path if operation.path.startswith("/api")
               else f"/api/v1{operation.path}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fuzz(operation, key, identity, generation)()
            except Unsatisfiable:  # nothing of this operation can be made invalid
                assert generation == GenerationMode.NEGATIVE, key

    summary = f"{calls['n']} requests, {calls['5xx']} answered 5xx, {len(failures)} failed checks"
    print(identity, mode, summary)
    assert calls["n"] >= EXAMPLES * 50
    assert not failures, summary + ":\n" + "\n".join(sorted(set(failures)))
