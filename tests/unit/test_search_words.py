"""How the search index cuts text into words, in Hindi and English (pure)."""

from __future__ import annotations

from engine.search import index as search


def test_words_keep_devanagari_marks_and_split_numbers():
    assert search.words("कर्मचारियों के वेतन-निर्धारण। GAD/EST/11011/7/2026") == [
        "कर्मचारियों", "के", "वेतन", "निर्धारण", "gad", "est", "11011", "7", "2026"]
    assert search.words(" ।,; ") == []
