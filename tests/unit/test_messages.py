"""Every notification text exists in English and Hindi (in the UI's Babel catalogue) with
the same placeholders."""

from __future__ import annotations

import string

import pytest

from engine.notify import messages


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(messages.CATALOGUE))
def test_both_languages_with_the_same_placeholders(key):
    english = messages.texts(key, "en")
    hindi = messages.texts(key, "hi")
    assert english == messages.CATALOGUE[key]
    for part in (0, 1):
        assert hindi[part] != english[part], f"{key}: no Hindi text in the catalogue"
        assert placeholders(english[part]) == placeholders(hindi[part]), key


def test_action_words_are_translated():
    for word in messages.ACTIONS.values():
        assert messages.translate(word, "hi") != word


def test_render_picks_the_language_and_falls_back_to_english():
    params = {"label": "GAD/EST/11011/1/2026", "subject": "वेतन", "by": "ds"}
    subject, body = messages.render("reopened", "hi", **params)
    assert subject == "GAD/EST/11011/1/2026 पुनः खोली गई"
    assert "ds द्वारा" in body
    assert messages.render("reopened", "ta", **params)[0] == "GAD/EST/11011/1/2026 reopened"
