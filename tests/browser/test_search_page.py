"""The search page in a real browser: Hindi and English words, numbers, and the kind filter."""

from __future__ import annotations

from tests.browser.steps import go, shot, sign_in


def search_for(page, q: str, kind: str = "") -> list[str]:
    page.fill("#q", q)
    page.select_option("#kind", kind)
    with page.expect_navigation():
        page.click("form[role=search] button[type=submit]")
    return page.locator("ol.results > li").all_inner_texts()


def test_search_in_hindi_and_english(page, server):
    sign_in(page, "clerk")
    go(page, "Search")
    hindi = search_for(page, "अवकाश")
    assert len(hindi) == 1
    assert "वार्षिक अवकाश नियमावली में संशोधन" in hindi[0]
    shot(page, "search")
    # a file found by a word of its notes; the filter keeps files only
    notes = search_for(page, "vacancy", "file")
    assert len(notes) == 1
    assert "Naib Tehsildar" in notes[0]
    assert "File" in notes[0]
    assert search_for(page, "vacancy", "receipt") == []
    # the demo's letter and the file it was put up in
    both = search_for(page, "Pay fixation")
    assert any("File" in r for r in both)
    assert any("Receipt" in r for r in both)
    with page.expect_navigation():
        page.locator("ol.results a").first.click()
    assert "Pay fixation" in page.locator("h1").inner_text()
