"""reopen_file: the approver decided on a request to reopen a closed file. Approved: the
file is open again (and unlocked, so new notes can be written; earlier notes stay sealed)
and its creator is told; refused: the creator is told why not."""

from engine.domain.handler_context import OfficeContext

from . import registry


@registry.register("reopen_file", "Reopen a closed file after approval (or tell the creator no)")
def reopen_file(ctx: OfficeContext) -> None:
    file = ctx.file()
    approved = ctx.data.get("action") == "approve"
    ctx.results["file_no"] = file.file_no
    ctx.results["reopened"] = approved
    if approved:
        if file.locked:
            # what was approved, recorded in this chain before the file is unlocked
            ctx.results["content_hash"] = ctx.content_hash(file)
        ctx.reopen(file)
    ctx.notify(f"reopen:file:{file.id}:{ctx.instance.id}", ctx.holders(file.creator_post_id),
               "reopened" if approved else "reopen_refused",
               label=file.file_no, subject=file.subject, by=ctx.by)
