"""The history chain's hash text is built without encoding the event data twice; it must
stay byte for byte the canonical JSON of the whole event body, or every chain breaks."""

import json
from datetime import UTC, datetime

import pytest

from engine.audit import history


@pytest.mark.parametrize("data", [
    {}, {"a": 1, "b": [1, 2.5, "x"], "ü": "हिंदी", "n": None, "t": True},
    {"z": {"y": 1, "a": [{"q": 1e300, "r": -0.1}]}, "quote": 'say "hi"\n'},
])
@pytest.mark.parametrize("actor", [None, "clerk", 'हि"x'])
@pytest.mark.parametrize("task_spec", [None, "Noting"])
def test_body_text_is_the_canonical_json_of_the_event(data, actor, task_spec):
    at = datetime(2026, 12, 2, 5, 30, 1, 123456, tzinfo=UTC)
    payload = json.loads(history.canonical_json(data))
    whole = history.canonical_json(
        history.event_body(7, 3, "task_completed", at, actor, task_spec, payload))
    assert history._body_json(7, 3, "task_completed", at, actor, task_spec,
                              history.canonical_json(data)) == whole


class _Text(str):
    pass


@pytest.mark.parametrize("value", [
    None, 0, -7, 10**30, "", "clerk", 'say "hi"\n\t\\', "हिंदी \u2028", "\x00\x1f",
    True, False, 2.5, _Text("sub"), [1, "a"],
])
def test_scalar_text_is_what_json_dumps_writes(value):
    assert history._scalar_json(value) == json.dumps(value, ensure_ascii=False)
