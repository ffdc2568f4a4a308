"""escalate: an SLA limit passed — tell the holder and the holder's superior post."""

from engine import org, outbox
from engine.handler_api import HandlerContext
from engine.models import Post

from . import registry


@registry.register("escalate", "Notify the holder and the superior post of an SLA breach")
def escalate(ctx: HandlerContext) -> None:
    post = ctx.session.get(Post, int(ctx.data["holder_post"]))
    posts = [post] + ([ctx.session.get(Post, post.superior_post_id)]
                      if post and post.superior_post_id else [])
    users = [u for p in posts if p for u in org.holders_of(ctx.session, p.id)]
    what = f"file {ctx.data['file_id']}" if "file_id" in ctx.data else \
        f"receipt {ctx.data.get('receipt_id')}"
    outbox.notify(ctx.session, f"breach:{ctx.instance.id}:{ctx.instance.event_count}", users,
                  f"Time limit passed: {what}",
                  f"The time limit for {what} at post {post.code if post else '?'} has passed.")
    ctx.results["notified"] = [u.username for u in users]
