"""The Hindi/English catalogs stay whole: branches append entries and git merges the files by
union, which can leave an entry twice or without its msgstr. Either breaks `pybabel compile`
quietly (the page then shows English), so the tests catch it here."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "web" / "translations"
CATALOGS = [TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po" for lang in ("hi", "en")]


def _entries(path: Path) -> list[str]:
    """Every live msgid of the file, in order (obsolete `#~` entries left out)."""
    text = path.read_text(encoding="utf-8")
    blocks = re.split(r"\n\s*\n", text)
    ids = []
    for block in blocks:
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        if not lines or not lines[0].startswith("msgid "):
            continue
        msgid, rest = [], iter(lines)
        for line in rest:
            if line.startswith(("msgid ", '"')) and not any(
                    m.startswith("msgstr") for m in msgid):
                msgid.append(line)
            else:
                break
        ids.append("\n".join(msgid))
    return ids


@pytest.mark.parametrize("path", [*CATALOGS, TRANSLATIONS / "messages.pot"],
                         ids=lambda p: p.parent.parent.name if p.suffix == ".po" else "pot")
def test_no_entry_twice_and_every_entry_has_a_msgstr(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    twice = [m for m, n in Counter(_entries(path)).items() if n > 1 and m != 'msgid ""']
    assert not twice, f"{path.name}: entries written twice: {twice[:5]}"
    live = [b for b in re.split(r"\n\s*\n", text) if re.search(r"^msgid ", b, re.M)
            and not b.lstrip().startswith("#~")]
    without = [b.splitlines()[-1] for b in live if not re.search(r"^msgstr", b, re.M)]
    assert not without, f"{path.name}: entries without a msgstr: {without[:5]}"


def test_every_label_of_the_template_is_translated_into_hindi() -> None:
    with (TRANSLATIONS / "hi" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        hindi = {m.id: m.string for m in read_po(f) if m.id}
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        wanted = [m.id for m in read_po(f) if m.id]
    missing = [m for m in wanted if not hindi.get(m)]
    assert not missing, f"labels with no Hindi: {missing[:5]}"
