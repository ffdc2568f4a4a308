"""`sanchika review send`: make this week's weekly review PDFs and queue their e-mails
now (the scheduler does the same at SANCHIKA_REVIEW_SCHEDULE); `sanchika review list`."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.store.models import User

Command = Callable[[argparse.Namespace], int]


def register(sub: argparse._SubParsersAction) -> dict[str, Command]:
    review = sub.add_parser("review", help="the weekly review for Secretaries and "
                            "monitoring posts")
    review_sub = review.add_subparsers(dest="review_command", required=True)
    review_sub.add_parser("send", help="make this week's review PDFs and queue the e-mails")
    review_sub.add_parser("list", help="the reviews of the last 12 weeks")
    return {"review": cmd_review}


def cmd_review(args: argparse.Namespace) -> int:
    app = Sanchika(Settings.from_env(), handlers.registry)
    try:
        if args.review_command == "send":
            out = app.send_weekly_review()
            print(f"weekly review, week of {out['week']}: {out['reviews']} PDF(s) made, "
                  f"{out['emails_queued']} e-mail(s) queued (the outbox delivers them)")
            return 0
        for row in app.weekly_reviews(User(username="cli", role="admin")):
            print(f"{row['week']}  {row['post']['code']:<16} {row['pages']} page(s)  "
                  f"made {row['made_at']}")
        return 0
    finally:
        app.db.dispose()
