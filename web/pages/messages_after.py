"""The message after an action: it names the item and where it went, each a link
(the item's page; the recipient on the item's tracking page)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape


def action_word(action: str) -> str:
    return {
        "forward": _("forwarded"), "return": _("returned"), "submit": _("submitted"),
        "approve": _("approved"), "reject": _("rejected"), "close": _("closed"),
        "put_in_file": _("put up in a file"),
    }.get(action, action)


def priority_word(priority: str) -> str:
    return {"Normal": _("Normal"), "Priority": _("Priority"), "Immediate": _("Immediate"),
            "Top Priority": _("Top Priority")}.get(priority, priority)


def item_link(kind: str, item_id: int, label: str) -> Markup:
    endpoint = "desk.file" if kind == "file" else "desk.receipt"
    url = url_for(endpoint, file_id=item_id) if kind == "file" \
        else url_for(endpoint, receipt_id=item_id)
    return Markup('<a href="%s">%s</a>') % (url, label)


def recipient_link(result: dict[str, Any]) -> Markup:
    to = result["to"]
    name = to["title"] + (f" ({result['to_user']})" if result.get("to_user") else "")
    kind = "files" if result["kind"] == "file" else "receipts"
    return Markup('<a href="%s">%s</a>') % (
        url_for("track.track", kind=kind, subject_id=result["item_id"]), name)


def done(result: dict[str, Any]) -> Markup:
    """One sentence naming the item (and the recipient, where it went to one)."""
    item = item_link(result["kind"], result["item_id"], result["label"] or "")
    action = result["action"]
    if action == "put_in_file" and result.get("file_id"):
        return escape(_("%(item)s put up in a file: %(file)s.")) % {
            "item": item, "file": item_link("file", result["file_id"], result["file_no"])}
    if result.get("to") and action in ("forward", "submit", "return"):
        text = {"forward": _("%(item)s forwarded to %(to)s."),
                "submit": _("%(item)s submitted for approval to %(to)s."),
                "return": _("%(item)s returned to %(to)s.")}[action]
        return escape(text) % {"item": item, "to": recipient_link(result)}
    sentence = escape(_("%(item)s: %(action)s.")) % {"item": item, "action": action_word(action)}
    if result.get("to"):
        sentence += " " + escape(_("Now with %(to)s.")) % {"to": recipient_link(result)}
    return sentence


def batch(out: dict[str, Any]) -> list[tuple[Markup, str]]:
    """Messages after a batch: one line per item done, one per item refused (named)."""
    lines = [(done(r), "message") for r in out["done"]]
    for r in out["refused"]:
        lines.append((escape(_("%(item)s was not sent: %(reason)s")) % {
            "item": r["label"], "reason": r["error"]}, "error"))
    return lines
