"""Working on a file beyond the note sheet: drafts (versions, side-by-side comparison,
approval, dispatch), links, part files, parking, priority, reopening, digitising scans and
read grants. Each form post is one service command; the message after it names the item."""

from __future__ import annotations

import difflib
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup, escape

from engine.errors import InvalidInput, NotFound
from web.pages.common import page_blueprint, service
from web.pages.messages_after import item_link, priority_word
from web.pages.passkeys import assertion_from_form
from web.ui import me

bp = page_blueprint("work")


def _to_file(file_id: int, anchor: str = "") -> ResponseReturnValue:
    return redirect(url_for("desk.file", file_id=file_id) + anchor)


def _field(name: str, required: bool = True) -> str:
    value = request.form.get(name, "").strip()
    if required and not value:
        raise InvalidInput(_("%(field)s: required", field=name))
    return value


# ------------------------------------------------------------------ drafts


@bp.post("/files/<int:file_id>/drafts")
@login_required
def new_draft(file_id: int) -> ResponseReturnValue:
    draft = service().create_draft(me(), file_id, _field("subject"), _field("text"),
                                   _field("addressee", required=False) or None)
    flash(_("Draft “%(subject)s” saved as version 1.", subject=draft["subject"]))
    return _to_file(file_id, f"#draft-item-{draft['id']}")


@bp.post("/drafts/<int:draft_id>/versions")
@login_required
def new_version(draft_id: int) -> ResponseReturnValue:
    draft = service().edit_draft(me(), draft_id, request.form.get("text", ""))
    flash(_("Draft “%(subject)s”: version %(n)s saved.", subject=draft["subject"],
            n=draft["version"]))
    return _to_file(draft["file_id"], f"#draft-item-{draft_id}")


@bp.post("/drafts/<int:draft_id>/approve")
@login_required
def approve_draft(draft_id: int) -> ResponseReturnValue:
    draft = service().approve_draft(me(), draft_id, assertion_from_form())
    flash(_("Draft “%(subject)s” approved (version %(n)s).", subject=draft["subject"],
            n=draft["version"]))
    return _to_file(draft["file_id"], f"#draft-item-{draft_id}")


@bp.post("/drafts/<int:draft_id>/dispatch")
@login_required
def dispatch(draft_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    row = svc.dispatch_draft(user, draft_id, request.form.get("mode", ""),
                             _field("addressee", required=False) or None)
    draft = svc.draft(user, draft_id)
    flash(escape(_("Dispatched to %(to)s with dispatch number %(no)s (%(register)s).")) % {
        "to": row["addressee"], "no": Markup("<strong>%s</strong>") % row["dispatch_no"],
        "register": Markup('<a href="%s">%s</a>') % (
            url_for("registers.dispatch", **{"from": row["date"], "to": row["date"]}),
            _("Dispatch register"))})
    return _to_file(draft["file_id"], f"#draft-item-{draft_id}")


@bp.get("/drafts/<int:draft_id>/compare")
@login_required
def compare(draft_id: int) -> ResponseReturnValue:
    """Two versions side by side, changed lines marked (any two: ?a=1&b=3)."""
    draft = service().draft(me(), draft_id)
    versions = {v["version"]: v for v in draft["versions"]}
    b = _version(request.args.get("b"), draft["version"], versions)
    a = _version(request.args.get("a"), max(1, b - 1), versions)
    rows = side_by_side(versions[a]["text"], versions[b]["text"])
    file = service().file(me(), draft["file_id"])
    return render_template("draft_compare.html", draft=draft, a=versions[a], b=versions[b],
                           rows=rows, f=file, numbers=sorted(versions))


def _version(raw: str | None, default: int, versions: dict[int, Any]) -> int:
    number = int(raw) if raw and raw.isdigit() else default
    if number not in versions:
        raise NotFound(_("There is no version %(n)s of this draft.", n=number))
    return number


def side_by_side(old: str, new: str) -> list[dict[str, Any]]:
    """Rows of (left line, right line, kind): same, changed, removed or added."""
    left, right = old.splitlines(), new.splitlines()
    rows: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [{"left": x, "right": x, "kind": "same"} for x in left[i1:i2]]
            continue
        a, b = left[i1:i2], right[j1:j2]
        for n in range(max(len(a), len(b))):
            la = a[n] if n < len(a) else None
            rb = b[n] if n < len(b) else None
            kind = "changed" if la is not None and rb is not None else (
                "removed" if la is not None else "added")
            rows.append({"left": la, "right": rb, "kind": kind})
    return rows


# ------------------------------------------------------------------ links, parts, park


@bp.post("/files/<int:file_id>/links")
@login_required
def link(file_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    number = _field("file_no")
    found = svc.find_files(user, file_no=number)
    if not found:
        raise InvalidInput(_("No file numbered %(no)s that you may read.", no=number))
    svc.link_files(user, file_id, found[0]["id"])
    flash(escape(_("Linked with %(file)s; the link shows on both files.")) % {
        "file": item_link("file", found[0]["id"], found[0]["file_no"])})
    return _to_file(file_id)


@bp.post("/files/<int:file_id>/parts")
@login_required
def part(file_id: int) -> ResponseReturnValue:
    view = service().open_part_file(me(), file_id, _field("subject", required=False) or None)
    flash(_("Part file %(no)s opened; it is listed under its main file.", no=view["file_no"]))
    return _to_file(view["id"])


@bp.post("/files/<int:file_id>/park")
@login_required
def park(file_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    if request.form.get("op") == "unpark":
        svc.unpark_file(user, file_id)
        flash(_("Unparked: the file is back in your inbox."))
    else:
        svc.park_file(user, file_id)
        flash(escape(_("Parked: the file is set aside under %(view)s.")) % {
            "view": Markup('<a href="%s">%s</a>') % (
                url_for("desk.inbox", tab="file", view="parked"), _("Parked"))})
    return _to_file(file_id)


@bp.post("/files/<int:file_id>/priority")
@login_required
def priority(file_id: int) -> ResponseReturnValue:
    out = service().change_priority(me(), file_id, request.form.get("priority", ""))
    flash(_("Priority of %(no)s is now %(p)s.", no=out["file_no"],
            p=priority_word(out["priority"])))
    return _to_file(file_id)


@bp.post("/files/<int:file_id>/reopen")
@login_required
def reopen(file_id: int) -> ResponseReturnValue:
    out = service().request_reopen(me(), file_id, request.form.get("reason", ""),
                                   request.form.get("to") or None)
    flash(_("Reopening of %(no)s requested; it waits with %(post)s.", no=out["file_no"],
            post=out["approver"]["title"]))
    return _to_file(file_id)


# ------------------------------------------------------------------ digitising


@bp.post("/files/<int:file_id>/digitise")
@login_required
def digitise(file_id: int) -> ResponseReturnValue:
    def uploads(name: str) -> list[tuple[bytes, str | None]]:
        return [(f.read(), f.filename) for f in request.files.getlist(name) if f.filename]

    sheets = uploads("note_sheets")
    if not sheets:
        raise InvalidInput(_("Choose the scanned note sheets (PDF)."))
    service().digitise(me(), file_id=file_id, note_sheets=sheets,
                       correspondence=uploads("letters"),
                       sender=_field("sender", required=False) or None)
    flash(_("Scans added to the file."))
    return _to_file(file_id)


# ------------------------------------------------------------------ read grants


@bp.post("/files/<int:file_id>/grants")
@login_required
def grant(file_id: int) -> ResponseReturnValue:
    g = service().grant(me(), {"file_id": file_id, "user": _field("user"),
                               "reason": _field("reason"),
                               "until": request.form.get("until") or None})
    flash(_("%(user)s may now read this file.", user=g["user"]))
    return _to_file(file_id)


@bp.post("/grants/<int:grant_id>/revoke")
@login_required
def revoke(grant_id: int) -> ResponseReturnValue:
    g = service().revoke_grant(me(), grant_id)
    flash(_("Read access of %(user)s revoked.", user=g["user"]))
    return _to_file(int(g["file_id"] or request.form.get("file_id", 0)))
