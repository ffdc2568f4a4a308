"""The registers: diary (receipts diarised), dispatch (letters issued) and a file's
movements, each as a page, a CSV and a PDF, in the reader's language."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from web.pages.common import page_blueprint, service
from web.pages.messages_after import action_word
from web.pages.printing import csv_response, pdf_response
from web.ui import me

bp = page_blueprint("registers")


def _words() -> dict[str, dict[str, str]]:
    return {
        "mode": {"post": _("Post"), "hand": _("By hand"), "email": _("E-mail"),
                 "electronic": _("Electronic"), "speed_post": _("Speed post")},
        "status": {"open": _("open"), "closed": _("closed"), "filed": _("put up in a file")},
        "grading": {"Normal": _("Normal"), "Confidential": _("Confidential"),
                    "Secret": _("Secret")},
        "action": {"copy": _("copy sent"), "pulled_back": _("pulled back")},
    }


def _word(kind: str, code: Any) -> Any:
    if kind == "action":
        return _words()["action"].get(code) or action_word(code)
    return _words()[kind].get(code, code)


def _day(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def _out(name: str, title: str, header: list[str], rows: list[list[Any]],
         subtitle: str) -> Any:
    fmt = request.args.get("format", "")
    if fmt == "csv":
        return csv_response(name, header, rows)
    if fmt == "pdf":
        return pdf_response(name, "register_pdf.html", title=title, subtitle=subtitle,
                            header=header, rows=rows)
    return None


def _page(title: str, subtitle: str, header: list[str], rows: list[list[Any]],
          reg: dict[str, Any], endpoint: str, links: list[tuple[str, str, int]],
          endpoint_args: dict[str, Any] | None = None) -> str:
    download_args = dict(endpoint_args or {})
    if reg.get("from"):
        download_args.update({"from": reg["from"], "to": reg["to"]})
    return render_template("register.html", title=title, subtitle=subtitle, header=header,
                           rows=rows, reg=reg, endpoint=endpoint, links=links,
                           download_args=download_args)


@bp.get("/registers")
@login_required
def index() -> ResponseReturnValue:
    return render_template("registers.html")


@bp.get("/registers/diary")
@login_required
def diary() -> ResponseReturnValue:
    reg = service().diary_register(me(), request.args.get("from"), request.args.get("to"))
    header = [_("Diary number"), _("Received"), _("Sender"), _("Subject"),
              _("Letter reference"), _("Mode of receipt"), _("Status"), _("With")]
    rows = [[r["diary_no"], _day(r["received_at"]), r["sender"], r["subject"],
             " ".join(x for x in (r["letter_ref"], r["letter_date"]) if x),
             _word("mode", r["mode"]), _word("status", r["status"]), r["with"] or "—"]
            for r in reg["rows"]]
    title = _("Diary register")
    subtitle = _("%(a)s to %(b)s", a=reg["from"], b=reg["to"])
    return _out(f"diary-{reg['from']}-{reg['to']}", title, header, rows, subtitle) or \
        _page(title, subtitle, header, rows, reg, "registers.diary",
              [("desk.receipt", "receipt_id", r["id"]) for r in reg["rows"]])


@bp.get("/registers/dispatch")
@login_required
def dispatch() -> ResponseReturnValue:
    reg = service().dispatch_book(me(), request.args.get("from"), request.args.get("to"))
    header = [_("Dispatch number"), _("Date"), _("Addressee"), _("Subject"), _("File"),
              _("Mode of dispatch"), _("Dispatched by")]
    rows = [[r["dispatch_no"], r["date"], r["addressee"], r["file_subject"], r["file_no"],
             _word("mode", r["mode"]), r["dispatched_by"]] for r in reg["rows"]]
    title = _("Dispatch register")
    subtitle = _("%(a)s to %(b)s", a=reg["from"], b=reg["to"])
    return _out(f"dispatch-{reg['from']}-{reg['to']}", title, header, rows, subtitle) or \
        _page(title, subtitle, header, rows, reg, "registers.dispatch",
              [("desk.file", "file_id", r["file_id"]) for r in reg["rows"]])


@bp.get("/files/<int:file_id>/movements")
@login_required
def movements(file_id: int) -> ResponseReturnValue:
    reg = service().movement_register(me(), file_id)
    header = ["#", _("Sent"), _("From"), _("To"), _("Action"), _("Sent by"), _("Opened"),
              _("Remark")]
    rows = [[r["n"], _day(r["sent_at"]), r["from"] or "—", r["to"],
             _word("action", r["action"]), r["sent_by"] or "—",
             _day(r["opened_at"]) or "—", r["remark"] or ""] for r in reg["rows"]]
    title = _("Movement register")
    subtitle = f"{reg['file']['file_no']} · {reg['file']['subject']}"
    safe = reg["file"]["file_no"].replace("/", "-")
    return _out(f"movements-{safe}", title, header, rows, subtitle) or \
        _page(title, subtitle, header, rows, reg, "registers.movements", [],
              {"file_id": file_id})
