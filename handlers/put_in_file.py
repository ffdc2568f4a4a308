"""put_in_file: a receipt is put up in a file and becomes part of its correspondence."""

from engine.domain.handler_context import OfficeContext

from . import registry


@registry.register("put_in_file", "Put the receipt up in a file (correspondence)")
def put_in_file(ctx: OfficeContext) -> None:
    receipt = ctx.receipt()
    file = ctx.file()
    ctx.put_up(file, receipt)
    ctx.results["file_no"] = file.file_no
    ctx.results["diary_no"] = receipt.diary_no
    # The file's own history records its new correspondence too (replay reads it there).
    ctx.file_history(file, "correspondence_added",
                     {"receipt_id": receipt.id, "diary_no": receipt.diary_no,
                      "subject": receipt.subject, "sender": receipt.sender,
                      "pdf_sha256": receipt.pdf_sha256})
