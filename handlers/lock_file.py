"""lock_file: after approval the file's notes and correspondence become read-only."""

from engine.bpm.handler_api import HandlerContext
from engine.domain import drafts, files

from . import registry


@registry.register("lock_file", "Lock the approved file (notes and correspondence read-only)")
def lock_file(ctx: HandlerContext) -> None:
    file = files.get_file(ctx.session, int(ctx.data["file_id"]))
    locked_at = files.lock(ctx.session, file, ctx.actor)
    # the file's approval covers the drafts still pending in it
    ctx.results["drafts_approved"] = drafts.approve_with_file(ctx.session, file, ctx.actor)
    ctx.results["file_no"] = file.file_no
    ctx.results["locked_at"] = locked_at.isoformat()
    # Recorded in the chained handler_called event: `sanchika verify` recomputes it.
    ctx.results["content_hash"] = files.content_hash(ctx.session, file)
