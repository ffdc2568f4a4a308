"""reopen_file: the approver decided on a request to reopen a closed file. Approved: the
file is open again (and unlocked, so new notes can be written; earlier notes stay sealed)
and its creator is told; refused: the creator is told why not."""

from engine.bpm.handler_api import HandlerContext
from engine.domain import files, org
from engine.notify import notices
from engine.store.models import utcnow

from . import registry


@registry.register("reopen_file", "Reopen a closed file after approval (or tell the creator no)")
def reopen_file(ctx: HandlerContext) -> None:
    file = files.get_file(ctx.session, int(ctx.data["file_id"]))
    approved = ctx.data.get("action") == "approve"
    by = ctx.actor.username if ctx.actor else "the system"
    ctx.results["file_no"] = file.file_no
    ctx.results["reopened"] = approved
    if approved:
        if file.locked:
            # what was approved, recorded in this chain before the file is unlocked
            ctx.results["content_hash"] = files.content_hash(ctx.session, file)
        files.reopen(file)
        file.holder_post_id = file.creator_post_id
        file.holder_since = utcnow()
    recipients = org.holders_of(ctx.session, file.creator_post_id)
    notices.send(ctx.session, f"reopen:file:{file.id}:{ctx.instance.id}", recipients,
                 "reopened" if approved else "reopen_refused",
                 label=file.file_no, subject=file.subject, by=by)
    ctx.results["notified"] = [u.username for u in recipients]
