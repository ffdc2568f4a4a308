"""The one password rule, wherever a password is chosen: `sanchika admin create`, the
organisation import, a user changing their own password and a password set with a reset
code. Long enough, and not one of the passwords tried first by anyone guessing; no
composition rules (a letter, a digit...), which make passwords harder to remember without
making them harder to guess (NIST SP 800-63B)."""

from __future__ import annotations

from engine.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 200
# The most used passwords in published leak lists, and the obvious ones for this product;
# compared case-insensitively, also with digits and symbols stripped from the ends.
COMMON = frozenset("""
123456 123456789 12345678 1234567890 password password1 password123 qwerty qwerty123
qwertyuiop 111111 123123 abc123 iloveyou admin admin123 administrator welcome welcome1
letmein monkey dragon sunshine princess football baseball superman batman trustno1
passw0rd p@ssw0rd p@ssword changeme secret master login root toor default guest test
testing india india123 bharat hindustan jaihind sanchika eoffice e-office government
sarkar nic12345 qwerty12345 1q2w3e4r 1q2w3e4r5t zaq12wsx asdfghjkl zxcvbnm 654321
987654321 000000 121212 password@123 admin@123 india@123 pass@123 welcome@123 abcd1234
abcdef123456 aaaaaa 112233 qazwsx demo demo123 sanchika-demo
""".split())  # noqa: SIM905  (a word list reads better as text)


def problems(password: str, username: str = "") -> list[str]:
    """What is wrong with a password (empty when it is acceptable)."""
    out = []
    if len(password) < MIN_LENGTH:
        out.append(f"it must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        out.append(f"it must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    core = lowered.strip("0123456789!@#$%^&*()-_=+.,;:?")
    if lowered in COMMON or core in COMMON or any(
            lowered.startswith(word) and len(word) >= 6 and lowered[len(word):].isdigit()
            for word in COMMON):
        out.append("it is a commonly used password")
    if username and username.lower() in lowered:
        out.append("it must not contain the username")
    if len(set(password)) < 5:
        out.append("it repeats too few different characters")
    return out


def require_strong(password: str, username: str = "", field: str = "password") -> None:
    """InvalidInput naming the field and every problem, unless the password is acceptable."""
    found = problems(password, username)
    if found:
        raise InvalidInput(f"{field}: too weak: {'; '.join(found)}")
