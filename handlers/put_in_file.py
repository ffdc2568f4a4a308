"""put_in_file: a receipt is put up in a file and becomes part of its correspondence."""

from engine.audit import history
from engine.bpm.handler_api import HandlerContext
from engine.domain import files, receipts
from engine.store.models import Instance

from . import registry


@registry.register("put_in_file", "Put the receipt up in a file (correspondence)")
def put_in_file(ctx: HandlerContext) -> None:
    receipt = receipts.get_receipt(ctx.session, int(ctx.data["receipt_id"]))
    file = files.get_file(ctx.session, int(ctx.data["file_id"]))
    files.put_up_receipt(ctx.session, file, receipt, ctx.actor)
    ctx.results["file_no"] = file.file_no
    ctx.results["diary_no"] = receipt.diary_no
    # The file's own history records its new correspondence too (replay reads it there).
    file_instance = ctx.session.get(Instance, file.instance_id) if file.instance_id else None
    if file_instance is not None:
        history.append(ctx.session, file_instance, "correspondence_added",
                       actor=ctx.actor.username if ctx.actor else None,
                       data={"receipt_id": receipt.id, "diary_no": receipt.diary_no,
                             "subject": receipt.subject, "sender": receipt.sender,
                             "pdf_sha256": receipt.pdf_sha256})
