"""notify: tell the file's creator post about the decision (through the outbox)."""

from engine.bpm.handler_api import HandlerContext
from engine.domain import files, org
from engine.notify import notices

from . import registry


@registry.register("notify", "Notify the file's creator of the decision")
def notify(ctx: HandlerContext) -> None:
    file = files.get_file(ctx.session, int(ctx.data["file_id"]))
    decision = "approved" if ctx.data.get("action") == "approve" else "rejected"
    by = ctx.actor.username if ctx.actor else "the system"
    recipients = org.holders_of(ctx.session, file.creator_post_id)
    notices.send(ctx.session, f"{decision}:file:{file.id}:{ctx.instance.event_count}",
                 recipients, decision, label=file.file_no, subject=file.subject, by=by)
    ctx.results["notified"] = [u.username for u in recipients]
    ctx.results["decision"] = decision
