"""Settings read from the environment, and the delivery back-off they lead to (pure)."""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.notify.delivery import Deliverer


def test_checkpoint_interval_comes_from_the_environment(tmp_path):
    env = {"SANCHIKA_DATA_DIR": str(tmp_path), "SANCHIKA_SECRET_KEY": "x"}
    assert Settings.from_env(env).checkpoint_minutes == 60
    assert Settings.from_env({**env, "SANCHIKA_CHECKPOINT_MINUTES": "5"}).checkpoint_minutes == 5
    with pytest.raises(ValueError, match="SANCHIKA_CHECKPOINT_MINUTES"):
        Settings.from_env({**env, "SANCHIKA_CHECKPOINT_MINUTES": "soon"})


def test_backup_settings_from_environment(tmp_path):
    env = {"SANCHIKA_DATA_DIR": str(tmp_path / "d"), "SANCHIKA_SECRET_KEY": "k"}
    plain = Settings.from_env(env)
    assert plain.backup_dir is None
    assert plain.backup_minutes == 15
    ship = Settings.from_env({**env, "SANCHIKA_BACKUP_DIR": str(tmp_path / "b"),
                              "SANCHIKA_BACKUP_MINUTES": "5", "SANCHIKA_BACKUP_KEEP": "3"})
    assert (ship.backup_dir, ship.backup_minutes, ship.backup_keep) == (tmp_path / "b", 5, 3)
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="SANCHIKA_BACKUP_MINUTES"):
            Settings.from_env({**env, "SANCHIKA_BACKUP_MINUTES": bad})


def test_backoff_is_capped():
    class S:
        smtp_url = sms_url = None

    d = Deliverer(None, S())  # type: ignore[arg-type]
    assert [d.backoff(n).total_seconds() for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
