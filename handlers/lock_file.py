"""lock_file: after approval the file's notes and correspondence become read-only."""

from engine.domain.handler_context import OfficeContext

from . import registry


@registry.register("lock_file", "Lock the approved file (notes and correspondence read-only)")
def lock_file(ctx: OfficeContext) -> None:
    file = ctx.file()
    locked_at = ctx.lock(file)
    # the file's approval covers the drafts still pending in it
    ctx.results["drafts_approved"] = ctx.approve_drafts(file)
    ctx.results["file_no"] = file.file_no
    ctx.results["locked_at"] = locked_at.isoformat()
    # Recorded in the chained handler_called event: `sanchika verify` recomputes it.
    ctx.results["content_hash"] = ctx.content_hash(file)
