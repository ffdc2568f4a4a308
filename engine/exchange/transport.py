"""Delivery of the exchange outbox over HTTP: each pending package is POSTed to its
partner's /api/v1/exchange/inbox; a partner that cannot be reached (or answers 5xx) is
tried again after a growing pause. A 409 'already received' means an earlier attempt got
through but its answer was lost: the package counts as delivered, once."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.domain import uploads
from engine.store.db import Database, get_or_404
from engine.store.exchange_models import ExchangeOut, Partner
from engine.store.models import utcnow

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)
INBOX_PATH = "/api/v1/exchange/inbox"
MAX_PAUSE = timedelta(minutes=30)
TIMEOUT = 60


def pause(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_PAUSE)


def deliver_due(db: Database, data_dir: Path, limit: int = 20) -> int:
    """Try every package that is due; how many were delivered."""
    with db.reader() as s:
        due = s.execute(select(ExchangeOut, Partner).join(
            Partner, Partner.id == ExchangeOut.partner_id).where(
            ExchangeOut.status == "pending", ExchangeOut.next_attempt_at <= utcnow())
            .order_by(ExchangeOut.id).limit(limit)).all()
    delivered = 0
    for out, partner in due:
        status, error = _post(data_dir, out, partner)
        with db.transaction() as s:
            row = get_or_404(s, ExchangeOut, out.id)
            if row.status != "pending":
                continue  # another process finished it meanwhile
            row.attempts += 1
            row.last_error = error
            if status == "sent":
                row.status, row.delivered_at = "sent", utcnow()
                delivered += 1
            elif status == "failed":
                row.status = "failed"
            else:
                row.next_attempt_at = utcnow() + pause(row.attempts)
    return delivered


def _post(data_dir: Path, out: ExchangeOut, partner: Partner) -> tuple[str, str | None]:
    """('sent' | 'failed' | 'retry', error)."""
    # imported on first use, so that every process starts light (CLI, workers)
    import requests

    package = uploads.read_bytes(data_dir, out.package_sha256)
    try:
        r = requests.post(partner.url.rstrip("/") + INBOX_PATH, timeout=TIMEOUT,
                          data={"envelope": out.envelope, "signature": out.signature},
                          files={"package": ("package.zip", package, "application/zip")})
    except requests.RequestException as exc:
        return "retry", f"{partner.name} not reachable: {exc.__class__.__name__}"
    if r.status_code in (200, 201):
        return "sent", None
    detail = _message(r)
    if r.status_code == 409 and "already received" in detail:
        return "sent", None
    if r.status_code >= 500 or r.status_code in (408, 429):
        return "retry", f"{partner.name} answered {r.status_code}: {detail}"
    return "failed", f"{partner.name} refused the package ({r.status_code}): {detail}"


def _message(r: requests.Response) -> str:
    try:
        return str(r.json()["error"]["message"])[:500]
    except (ValueError, KeyError, TypeError):
        return r.text[:300]
