"""Notification texts, from the same Babel catalogue as the web UI (web/translations).

Each message is an English msgid pair (subject, body) with str.format placeholders; a
recipient gets it in their own language ('en' or 'hi', anything else falls back to
English). The catalogue is read from the .po files (no compile step), once per process.
Action names in a message are translated too, with the UI's own words."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("en", "hi")
TRANSLATIONS = Path(__file__).resolve().parents[2] / "web" / "translations"

# key -> (subject, body): English text, the msgid of the catalogue
CATALOGUE: dict[str, tuple[str, str]] = {
    "sign_in_guessed": ("Someone is trying to sign in as you",
                        "{count} wrong passwords were tried for your account {username} in the "
                        "last half hour, the latest from address {address}. If this was not "
                        "you, tell your administrator; your own sign-in from your usual place "
                        "still works."),
    "sign_in_unlock_code": ("Your sign-in unlock code",
                            "Sign-in as {username} is locked at address {address} after wrong "
                            "passwords. To lift the lock there, enter this code on the "
                            "sign-in page: {code}. It works once, for {minutes} minutes. If "
                            "you did not ask for it, do not share it and tell your "
                            "administrator."),
    "backup_failed": ("Backup failing",
                      "The scheduled backup to {destination} is failing: {error}. "
                      "Run `sanchika doctor` on the server."),
    "outbox_backlog": ("Messages not being delivered",
                       "{count} e-mail/SMS messages are waiting to be delivered. Check the mail "
                       "and SMS settings and the server log."),
    "received": ("{label} received",
                 "{label} ({subject}) was sent to you by {by} ({action})."),
    "pulled_back": ("URGENT: {label} pulled back",
                    "URGENT: {label} ({subject}) has been pulled back by {by}; "
                    "it is no longer in your inbox."),
    "due_soon": ("{label} due soon",
                 "{label} ({subject}) at {step} is due by {due}. Please act on it in time."),
    "breached": ("Time limit passed: {label}",
                 "The time limit for {label} at post {post} has passed."),
    "approved": ("{label} approved", "File {label} ({subject}) was approved by {by}."),
    "rejected": ("{label} rejected", "File {label} ({subject}) was rejected by {by}."),
    "copy_received": ("{label} received (copy)",
                      "A copy of {original} ({subject}) was sent to you by {by}."),
    "pulled_back_sender": ("{label} pulled back",
                           "File {label} ({subject}) was pulled back from {recipient} by {by}; "
                           "it is with {sender} again."),
    "reopen_requested": ("Reopen {label}?",
                         "{by} asks to reopen file {label} ({subject}): {reason}"),
    "reopened": ("{label} reopened",
                 "The request to reopen file {label} ({subject}) was approved by {by}."),
    "reopen_refused": ("{label} not reopened",
                       "The request to reopen file {label} ({subject}) was refused by {by}."),
}

# action code -> the UI's word for it (msgids of web/pages/desk.py)
ACTIONS = {"forward": "forwarded", "submit": "submitted", "return": "returned",
           "put_in_file": "put up in a file", "approve": "approved", "reject": "rejected",
           "close": "closed", "pullback": "pulled back"}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else "en"


@lru_cache(maxsize=4)
def _catalogue(language: str) -> dict[str, str]:
    po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po.exists():
        return {}
    with po.open("rb") as fh:
        catalog = read_po(fh)
    return {m.id: m.string for m in catalog
            if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string}


def translate(text: str, language: str | None) -> str:
    return _catalogue(language_of(language)).get(text) or text


def texts(key: str, language: str | None) -> tuple[str, str]:
    """The unformatted (subject, body) of message `key`; KeyError for an unknown key."""
    subject, body = CATALOGUE[key]
    return translate(subject, language), translate(body, language)


def render(key: str, language: str | None, **params: Any) -> tuple[str, str]:
    """(subject, body) of message `key` in `language`; KeyError for an unknown key."""
    if "action" in params:
        params["action"] = translate(ACTIONS.get(params["action"], params["action"]), language)
    subject, body = texts(key, language)
    return subject.format(**params), body.format(**params)
