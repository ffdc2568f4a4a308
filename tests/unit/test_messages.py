"""Every notification text exists in English and Hindi with the same placeholders."""

from __future__ import annotations

import string

import pytest

from engine.notify import messages


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(messages.CATALOGUE))
def test_both_languages_with_the_same_placeholders(key):
    texts = messages.CATALOGUE[key]
    assert set(texts) == set(messages.LANGUAGES)
    for part in (0, 1):
        assert placeholders(texts["en"][part]) == placeholders(texts["hi"][part]), key


def test_render_picks_the_language_and_falls_back_to_english():
    params = {"label": "GAD/EST/11011/1/2026", "subject": "वेतन", "by": "ds"}
    subject, body = messages.render("reopened", "hi", **params)
    assert subject == "GAD/EST/11011/1/2026 पुनः खोली गई" and "ds द्वारा" in body
    assert messages.render("reopened", "ta", **params)[0] == "GAD/EST/11011/1/2026 reopened"
