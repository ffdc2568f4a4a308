"""put_in_file: a receipt is put up in a file and becomes part of its correspondence."""

from engine import files, receipts
from engine.handler_api import HandlerContext

from . import registry


@registry.register("put_in_file", "Put the receipt up in a file (correspondence)")
def put_in_file(ctx: HandlerContext) -> None:
    receipt = receipts.get_receipt(ctx.session, int(ctx.data["receipt_id"]))
    file = files.get_file(ctx.session, int(ctx.data["file_id"]))
    files.put_up_receipt(ctx.session, file, receipt, ctx.actor)
    ctx.results["file_no"] = file.file_no
    ctx.results["diary_no"] = receipt.diary_no
