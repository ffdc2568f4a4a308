"""URL rules whose builders are compiled once per process.

werkzeug compiles two Python functions (with `ast` and `compile`) for every rule it binds,
and every app this process makes binds the same ~200 rules again: that compiling was
about half the cost of `create_app`. A builder depends only on the rule's parsed parts and
defaults (the converters are looked up on the bound rule when it runs), so the compiled
function is shared by equal rules of every app."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from werkzeug.routing import Rule

_builders: dict[Hashable, Callable[..., tuple[str, str]]] = {}


class CachedRule(Rule):
    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        defaults = self.defaults or {}
        # what werkzeug puts into the code: the rule's parts, the names of its defaults and,
        # for a default of a variable of the rule, the text its converter makes of it
        dynamic = {data for is_dynamic, data in self._trace if is_dynamic}
        key = (self.rule, append_unknown, tuple(self._trace), tuple(
            (name, self._converters[name].to_url(value) if name in dynamic else None)
            for name, value in defaults.items()))
        builder = _builders.get(key)
        if builder is None:
            builder = super()._compile_builder(append_unknown)
            builder = _builders.setdefault(key, builder)
        return builder
