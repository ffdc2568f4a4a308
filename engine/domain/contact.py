"""Normalising and checking what people type about people: names, phone numbers and
e-mail addresses. Text is put in Unicode NFC form with runs of spaces collapsed; control
characters (and other invisible format characters, except the joiners Devanagari needs)
are refused, never silently stored."""

from __future__ import annotations

import re
import unicodedata

from engine.errors import InvalidInput

JOINERS = {"\u200c", "\u200d"}  # ZWNJ, ZWJ: shape Devanagari conjuncts
PHONE_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
INDIAN_MOBILE = re.compile(r"^(?:0|91)?([6-9]\d{9})$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def _refuse_invisible(value: str, field: str) -> None:
    for ch in value:
        if ch in JOINERS:
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise InvalidInput(f"{field}: contains a control or invisible character "
                               f"(U+{ord(ch):04X})")


def name(value: object, field: str, max_len: int = 200, required: bool = True) -> str | None:
    """A person's or sender's name: NFC, single spaces, no control characters."""
    text = unicodedata.normalize("NFC", str(value or ""))
    _refuse_invisible(text.replace("\t", " "), field)
    text = " ".join(text.split())
    if not text:
        if required:
            raise InvalidInput(f"{field}: required")
        return None
    if len(text) > max_len:
        raise InvalidInput(f"{field}: at most {max_len} characters")
    return text


def phone(value: object, field: str = "phone") -> str | None:
    """An E.164 number (+ country code and digits); a 10-digit Indian mobile number is
    given +91. Spaces, dots, dashes and brackets between digits are dropped."""
    if value in (None, ""):
        return None
    text = str(value)
    _refuse_invisible(text, field)
    compact = re.sub(r"[\s.\-()]", "", text)
    mobile = INDIAN_MOBILE.match(compact)
    if mobile:
        return "+91" + mobile.group(1)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not PHONE_E164.match(compact):
        raise InvalidInput(f"{field}: give the number with its country code, "
                           "e.g. +919876543210")
    return compact


def email(value: object, field: str = "email") -> str | None:
    """An e-mail address, trimmed, the domain in lower case."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    _refuse_invisible(text, field)
    if len(text) > 200 or not EMAIL.match(text):
        raise InvalidInput(f"{field}: not an e-mail address (name@example.gov.in)")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"
