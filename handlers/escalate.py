"""escalate: an SLA limit passed — tell the holder and the holder's superior post."""

from engine.domain.handler_context import OfficeContext

from . import registry


@registry.register("escalate", "Notify the holder and the superior post of an SLA breach")
def escalate(ctx: OfficeContext) -> None:
    post = ctx.post(int(ctx.data["holder_post"]))
    posts = [post] + ([ctx.post(post.superior_post_id)] if post and post.superior_post_id
                      else [])
    users = [u for p in posts if p for u in ctx.holders(p.id)]
    ctx.notify(f"breach:{ctx.instance.id}:{ctx.instance.event_count}", users, "breached",
               label=_label(ctx), post=post.code if post else "?")


def _label(ctx: OfficeContext) -> str:
    if "file_id" in ctx.data:
        file = ctx.file()
        return f"file {file.file_no}"
    return f"receipt {ctx.receipt().diary_no}"
