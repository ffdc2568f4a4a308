"""escalate: an SLA limit passed — tell the holder and the holder's superior post."""

from engine.bpm.handler_api import HandlerContext
from engine.domain import org
from engine.notify import notices
from engine.store.models import File, Post, Receipt

from . import registry


@registry.register("escalate", "Notify the holder and the superior post of an SLA breach")
def escalate(ctx: HandlerContext) -> None:
    post = ctx.session.get(Post, int(ctx.data["holder_post"]))
    posts = [post] + ([ctx.session.get(Post, post.superior_post_id)]
                      if post and post.superior_post_id else [])
    users = [u for p in posts if p for u in org.holders_of(ctx.session, p.id)]
    notices.send(ctx.session, f"breach:{ctx.instance.id}:{ctx.instance.event_count}", users,
                 "breached", label=_label(ctx), post=post.code if post else "?")
    ctx.results["notified"] = [u.username for u in users]


def _label(ctx: HandlerContext) -> str:
    if "file_id" in ctx.data:
        file = ctx.session.get(File, int(ctx.data["file_id"]))
        return f"file {file.file_no}" if file else f"file {ctx.data['file_id']}"
    receipt = ctx.session.get(Receipt, int(ctx.data.get("receipt_id") or 0))
    return f"receipt {receipt.diary_no}" if receipt else f"receipt {ctx.data.get('receipt_id')}"
