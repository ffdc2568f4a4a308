"""The engine's passkey refusals that an officer meets (registering one, approving with
one), in the page's language. The engine writes them as "field: reason" in English for
the API and the CLI; any message not known here is shown as the engine wrote it."""

from __future__ import annotations

from flask_babel import gettext as _


def passkey_message(message: str) -> str:
    field, _sep, reason = message.partition(":")
    reason = reason.strip()
    if field == "credential":
        if reason.startswith("this passkey is already registered"):
            return _("This passkey is already registered.")
        return _("The passkey could not be registered. Try again, or use another device.")
    if field == "name":
        return _("The name of the passkey is too long.")
    if field == "origin":
        return _("Passkeys work only on the office's own address (its domain name over "
                 "HTTPS), not on a bare IP address. Open this page by its usual address.")
    if field == "passkey" and reason.startswith("this installation requires"):
        return _("This office requires approvals to be signed with your passkey. Register "
                 "one under My settings, then approve again.")
    if field == "passkey" and reason.startswith("the assertion does not verify"):
        return _("The passkey's signature does not verify for this approval: the file may "
                 "have changed since the page was opened. Reload the page and approve again.")
    if field == "passkey.credential":
        if reason.startswith("this passkey was revoked"):
            return _("This passkey was revoked. Register a new one under My settings.")
        if reason.startswith("not a passkey registered"):
            return _("This passkey is not registered to you. Use your own passkey.")
        return _("The browser did not send the passkey's signature. Try again.")
    if field == "passkey":
        return _("The browser did not send the passkey's signature. Try again.")
    if field == "passkey.nonce":
        return _("The passkey request expired or was already used. Start the approval again.")
    return message
