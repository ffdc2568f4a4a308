"""notify: tell the file's creator post about the decision (through the outbox)."""

from engine.domain.handler_context import OfficeContext

from . import registry


@registry.register("notify", "Notify the file's creator of the decision")
def notify(ctx: OfficeContext) -> None:
    file = ctx.file()
    decision = "approved" if ctx.data.get("action") == "approve" else "rejected"
    ctx.notify(f"{decision}:file:{file.id}:{ctx.instance.event_count}",
               ctx.holders(file.creator_post_id), decision, label=file.file_no,
               subject=file.subject, by=ctx.by)
    ctx.results["decision"] = decision
