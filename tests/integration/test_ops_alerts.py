"""A failing backup and a growing outbox backlog notify the administrators, once per
incident."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from engine.notify import outbox
from engine.ops import alerts, backup_schedule
from engine.store.models import OutboxMessage, User


def admin_notices(app, prefix: str) -> list[OutboxMessage]:
    with app.db.reader() as s:
        return list(s.scalars(select(OutboxMessage).join(User, User.id == OutboxMessage.user_id)
                              .where(User.role == "admin", OutboxMessage.channel == "app",
                                     OutboxMessage.event_key.startswith(prefix))))


def test_failing_backup_notifies_once_per_incident(demo, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backup folder should be")
    settings = replace(demo.settings, backup_dir=blocked)
    assert backup_schedule.ship_now(settings)["ok"] is False
    alerts.check(settings, demo.db)
    backup_schedule.ship_now(settings)  # still failing: the same incident
    alerts.check(settings, demo.db)
    sent = admin_notices(demo, "ops:backup_failed:never")
    assert len(sent) == 1
    assert "failing" in sent[0].body

    good = replace(settings, backup_dir=tmp_path / "backups")
    assert backup_schedule.ship_now(good)["ok"] is True
    assert alerts.check(good, demo.db) == []
    backup_schedule.ship_now(settings)  # fails again after a success: a new incident
    alerts.check(settings, demo.db)
    assert len(admin_notices(demo, "ops:backup_failed:")) == 2


def test_outbox_backlog_notifies_once(demo):
    settings = replace(demo.settings, outbox_alert=3)
    with demo.db.transaction() as s:
        clerk = s.scalar(select(User).where(User.username == "clerk"))
        for n in range(3):
            outbox.notify(s, f"test-backlog-{n}", [clerk], "subject", "body")
    found = alerts.check(settings, demo.db)
    assert len(found) == 1
    assert found[0].startswith("ops:outbox_backlog:")
    alerts.check(settings, demo.db)
    sent = admin_notices(demo, "ops:outbox_backlog:")
    assert len(sent) == 1
    assert "waiting to be delivered" in sent[0].body
