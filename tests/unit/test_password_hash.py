"""Passwords: production hashes with scrypt; only the test suite opts into a cheap hash."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from engine.domain import org


def test_production_hashes_passwords_with_scrypt(monkeypatch):
    monkeypatch.delenv("SANCHIKA_TEST_CHEAP_HASH", raising=False)
    assert org.password_method() == org.STRONG_HASH == "scrypt"
    stored = org.hash_password("demo-pass-1")
    assert stored.startswith("scrypt:")
    assert check_password_hash(stored, "demo-pass-1")
    # any other value of the test switch is still the strong hash
    monkeypatch.setenv("SANCHIKA_TEST_CHEAP_HASH", "yes")
    assert org.password_method() == "scrypt"


def test_the_suite_runs_with_the_cheap_hash_and_it_still_verifies():
    assert org.password_method() == org.CHEAP_TEST_HASH
    stored = org.hash_password("demo-pass-1")
    assert stored.startswith("pbkdf2:sha256:1$")
    assert check_password_hash(stored, "demo-pass-1")
    assert not check_password_hash(stored, "demo-pass-2")
