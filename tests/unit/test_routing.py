"""Rule builders compiled once per process (web/routing.py) build what werkzeug's own do,
for every map that has the rule, converters and defaults included."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

from web.routing import CachedRule


def _rules(cls: type[Rule]) -> list[Rule]:
    return [cls("/files/<int:file_id>/track", endpoint="track"),
            cls("/page/<int:n>", endpoint="page", defaults={"n": 1}),
            cls("/page/<int:n>", endpoint="page"),
            cls("/<any(files,receipts):kind>/<int:sid>", endpoint="subject"),
            cls("/vendor/<path:name>", endpoint="vendor"),
            cls("/list", endpoint="list", defaults={"sort": "new"})]


def _urls(cls: type[Rule]) -> list[str]:
    urls = Map(_rules(cls)).bind("example.org")
    return [urls.build("track", {"file_id": 7}), urls.build("track", {"file_id": 7, "q": "a b"}),
            urls.build("page", {"n": 1}), urls.build("page", {"n": 3}),
            urls.build("subject", {"kind": "receipts", "sid": 2}),
            urls.build("vendor", {"name": "chart.js/dist/x.js"}),
            urls.build("list", {}), urls.build("list", {"sort": "new", "page": 2})]


def test_cached_builders_build_what_werkzeug_builds() -> None:
    expected = _urls(Rule)
    assert _urls(CachedRule) == expected
    assert _urls(CachedRule) == expected  # the second map uses the compiled builders


def test_equal_rules_of_two_maps_share_their_builder() -> None:
    one, two = (Map([CachedRule("/files/<int:file_id>", endpoint="f")]) for _ in range(2))
    a, b = (next(m.iter_rules()) for m in (one, two))
    assert a._build.__func__ is b._build.__func__
    assert a._build_unknown.__func__ is b._build_unknown.__func__


def test_a_default_of_a_variable_is_part_of_the_builder() -> None:
    urls = [Map([CachedRule("/p/<int:n>", endpoint="p", defaults={"n": n})]).bind("h")
            .build("p", {"n": n}) for n in (1, 2)]
    assert urls == ["/p/1", "/p/2"]
