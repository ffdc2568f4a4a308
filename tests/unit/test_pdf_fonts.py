"""Report PDFs take their Devanagari font from the WOFF2 files the web UI serves, unpacked
once per process into the plain font inside (engine/read/pdf.py), not for every PDF."""

from __future__ import annotations

from pathlib import Path

from engine.read.pdf import font_face_css, unpacked
from web.reports import FONT_FILES

PLAIN_FONT = (b"\x00\x01\x00\x00", b"OTTO", b"true")  # TrueType, CFF OpenType, Apple


def test_a_woff2_font_is_unpacked_once() -> None:
    for woff2 in FONT_FILES:
        assert woff2.read_bytes()[:4] == b"wOF2"
        font = unpacked(woff2)
        assert font != woff2
        assert font.read_bytes()[:4] in PLAIN_FONT
        assert unpacked(woff2) == font
    assert unpacked(FONT_FILES[0]) != unpacked(FONT_FILES[1])


def test_the_font_rules_name_the_unpacked_files() -> None:
    css = font_face_css(FONT_FILES)
    for woff2 in FONT_FILES:
        assert unpacked(woff2).as_uri() in css
    assert "font-weight: 400;" in css
    assert "font-weight: 600;" in css


def test_any_other_file_is_used_as_it_is(tmp_path: Path) -> None:
    plain = tmp_path / "plain.ttf"
    plain.write_bytes(unpacked(FONT_FILES[0]).read_bytes())
    assert unpacked(plain) == plain
    broken = tmp_path / "broken.woff2"
    broken.write_bytes(b"wOF2 but nothing after it")
    assert unpacked(broken) == broken
