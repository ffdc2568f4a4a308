"""Settings from a TOML file beside the environment; the password rule; owner-only files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from engine.config import Settings, write_private
from engine.domain import passwords
from engine.ops import permissions


def test_toml_file_in_the_data_dir_and_env_wins(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sanchika.toml").write_text(
        'trusted_proxies = 1\nhttps = true\nbackup_minutes = 30\nsla_default = "P3D"\n')
    settings = Settings.from_env({"SANCHIKA_DATA_DIR": str(data),
                                  "SANCHIKA_BACKUP_MINUTES": "5"})
    assert settings.trusted_proxies == 1
    assert settings.https is True
    assert settings.backup_minutes == 5.0  # the environment wins
    assert settings.sla_default == "P3D"
    assert settings.config_file == (data / "sanchika.toml").resolve()


def test_named_config_file_can_set_the_data_dir(tmp_path: Path):
    conf = tmp_path / "site.toml"
    conf.write_text(f'data_dir = "{tmp_path / "elsewhere"}"\nsecret_key = "k"\n')
    settings = Settings.from_env({"SANCHIKA_CONFIG": str(conf)})
    assert settings.data_dir == (tmp_path / "elsewhere").resolve()
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700


@pytest.mark.parametrize(("text", "message"), [
    ("databse_url = 'x'\n", "unknown setting 'databse_url'"),
    ("https = \n", "not valid TOML"),
    ("https = 'maybe'\n", "SANCHIKA_HTTPS must be true or false"),
    ("trusted_proxies = -1\n", "SANCHIKA_TRUSTED_PROXIES must be 0 (off) or more"),
])
def test_bad_settings_are_named(tmp_path: Path, text: str, message: str):
    conf = tmp_path / "bad.toml"
    conf.write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env({"SANCHIKA_CONFIG": str(conf), "SANCHIKA_DATA_DIR": str(tmp_path)})


def test_missing_named_config_file(tmp_path: Path):
    with pytest.raises(ValueError, match="SANCHIKA_CONFIG: no such file"):
        Settings.from_env({"SANCHIKA_CONFIG": str(tmp_path / "none.toml")})


@pytest.mark.parametrize(("password", "problem"), [
    ("short-1", "at least 12"),
    ("password1234", "commonly used"),
    ("Password@12", "at least 12"),
    ("Password@1234", "commonly used"),
    ("welcome12345", "commonly used"),
    ("aaaaaaaaaaaaaaa", "too few different"),
    ("chief-is-the-boss", "username"),
])
def test_weak_passwords(password: str, problem: str):
    assert any(problem in p for p in passwords.problems(password, "chief"))


def test_strong_password():
    assert passwords.problems("Quiet-harbour-lamp-7", "chief") == []


def test_tighten_and_loose(tmp_path: Path):
    data = tmp_path / "d"
    (data / "keys").mkdir(parents=True, mode=0o755)
    (data / "keys").chmod(0o755)
    (data / "sanchika.db").write_text("x")
    (data / "sanchika.db").chmod(0o644)
    assert len(permissions.loose(data)) >= 2
    assert permissions.tighten(data) >= 2
    assert permissions.loose(data) == []
    write_private(data / "f", "secret")
    assert stat.S_IMODE((data / "f").stat().st_mode) == 0o600


def test_json_log_lines_carry_the_extras():
    import json
    import logging

    from web.cli.ops import JsonFormatter

    record = logging.LogRecord("engine.ops.backup_schedule", logging.INFO, __file__, 1,
                               "backup %s done", ("s1",), None)
    record.event, record.rows = "backup_done", 12
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "backup s1 done"
    assert line["level"] == "INFO"
    assert line["event"] == "backup_done"
    assert line["rows"] == 12
    assert "time" in line


def test_log_settings_are_checked(tmp_path: Path):
    env = {"SANCHIKA_DATA_DIR": str(tmp_path), "SANCHIKA_LOG_FORMAT": "JSON"}
    assert Settings.from_env(env).log_format == "json"
    with pytest.raises(ValueError, match="SANCHIKA_LOG_LEVEL must be one of"):
        Settings.from_env({**env, "SANCHIKA_LOG_LEVEL": "loud"})


def test_every_setting_is_known_to_the_file_and_documented():
    """A setting read from `raw` must be settable in the TOML file and be in the table."""
    import re

    import engine.config as config

    source = Path(config.__file__).read_text()
    read = set(re.findall(r'raw(?:\.get\(|\[|, )"([A-Z_]+)"', source))
    assert read - set(config.KNOWN) == set()
    table = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    assert [name for name in sorted(read) if f"`SANCHIKA_{name}`" not in table] == []
