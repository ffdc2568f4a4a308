"""Encrypted backups (age, engine/ops/backup_crypt.py) on the real database (SQLite, or
PostgreSQL when SANCHIKA_TEST_DATABASE_URL is set): the stored bytes hold no plaintext
document, key or database content; restore with the identity gives everything back and
still runs every check; a wrong or missing identity is refused before anything changes.
The CLI runs in-process (web.cli.main:main)."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import Settings
from engine.ops import backup_crypt
from engine.ops.backup import (
    BackupError,
    _occupied,
    backup,
    check_snapshot,
    figures,
    restore,
    snapshots,
)
from engine.ops.backup_schedule import ship_now
from tests.backup_fixtures import restore_target  # noqa: F401  (the `target` fixture)
from tests.pdfs import make_pdf
from web.cli.main import main

AGE_MAGIC = b"age-encryption.org/v1"


@pytest.fixture(autouse=True)
def _umask() -> Iterator[None]:
    """main() makes the umask owner-only for the rest of the process, as `sanchika` does
    for its own: the worker gets its umask back (files that later tests write for other
    programs, e.g. Dovecot's passwd file, came out unreadable to them)."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


def _diarise(api, marker: str) -> bytes:
    pdf = make_pdf(f"letter {marker}")
    r = api.post("/receipts", "clerk", data={"sender": "Collector, Jaipur", "mode": "post",
                                             "subject": f"Subject {marker}"},
                 files={"pdf": ("letter.pdf", pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    return pdf


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


@pytest.fixture
def identity(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "elsewhere" / "backup-identity.txt"
    path.parent.mkdir()
    return path, backup_crypt.write_identity(path)


@pytest.fixture
def secret_key_file(demo) -> bytes:
    """A signing key in keys/ with content that cannot occur by chance."""
    data = f"PRIVATE-SIGNING-KEY-{secrets.token_hex(24)}\n".encode()
    folder = demo.settings.data_dir / "keys" / "users"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ds.key").write_bytes(data)
    return data


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings, **extra: str) -> None:
    """The CLI reads its settings from the environment, as `sanchika` does."""
    monkeypatch.setenv("SANCHIKA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SANCHIKA_DATABASE_URL", settings.database_url)
    for name in ("SANCHIKA_CONFIG", "SANCHIKA_BACKUP_RECIPIENTS", "SANCHIKA_HTTPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(f"SANCHIKA_{name}", value)


def test_encrypted_round_trip_with_the_cli(api, demo, secret_key_file, identity, target,
                                           tmp_path, monkeypatch, capsys):
    marker = secrets.token_hex(12)
    pdf = _diarise(api, marker)
    id_file, public = identity
    dest = tmp_path / "bk"
    before = figures(demo.settings.database_url)
    uploads_before = _files(demo.settings.data_dir / "uploads")
    keys_before = _files(demo.settings.data_dir / "keys")

    _use(monkeypatch, demo.settings, BACKUP_RECIPIENTS=public)
    assert main(["backup", str(dest)]) == 0
    out = capsys.readouterr()
    assert f"encryption: encrypted (age) to {public}" in out.out
    assert "NOT encrypted" not in out.err

    stored = _files(dest)
    assert any(name.endswith("database.sqlite3.age") or name.endswith("database.pgdump.age")
               for name in stored)
    for name, data in stored.items():
        if name.endswith("manifest.json"):
            continue
        assert name.endswith(".age"), name
        assert data.startswith(AGE_MAGIC), name
    everything = b"".join(stored.values())
    # neither the document, nor the key, nor database content, nor a database file header
    for plain in (pdf, pdf[-200:], secret_key_file.strip(), marker.encode(),
                  b"SQLite format 3", b"PGDMP", b"Collector, Jaipur"):
        assert plain not in everything

    # `restore --check` verifies the stored files without the identity
    _use(monkeypatch, target)
    assert main(["restore", "--check", str(dest)]) == 0
    assert "verified" in capsys.readouterr().out
    assert main(["restore", str(dest), "--identity", str(id_file)]) == 0
    out = capsys.readouterr()
    assert "decrypted" in out.out
    assert "row counts and table hashes equal the manifest" in out.out
    assert ": intact" in out.out, out.out + out.err
    assert figures(target.database_url) == before
    assert _files(target.data_dir / "uploads") == uploads_before
    assert _files(target.data_dir / "keys") == keys_before
    assert not [p for p in target.data_dir.iterdir() if p.name.startswith(".restore-")]
    # a work folder left by a killed backup is removed by the next one
    stale = demo.settings.data_dir / ".backup-999999999-1"
    stale.mkdir()
    _use(monkeypatch, demo.settings, BACKUP_RECIPIENTS=public)
    assert main(["backup", str(dest)]) == 0
    assert not stale.exists()
    assert not [p for p in demo.settings.data_dir.iterdir() if p.name.startswith(".backup-")]


def test_wrong_or_missing_identity_changes_nothing(api, demo, identity, target, tmp_path,
                                                   monkeypatch, capsys):
    _diarise(api, "x")
    _id_file, public = identity
    dest = tmp_path / "bk"
    backup(dataclasses.replace(demo.settings, backup_recipients=(public,)), dest)
    other = tmp_path / "other-identity.txt"
    other_public = backup_crypt.write_identity(other)

    with pytest.raises(BackupError, match="give its identity file with --identity"):
        restore(target, dest)
    with pytest.raises(BackupError) as refused:
        restore(target, dest, identity=other)
    assert f"public key {other_public}) is not one this backup was encrypted to " \
           f"({public})" in refused.value.message
    assert "nothing was changed" in refused.value.message

    _use(monkeypatch, target)
    assert main(["restore", str(dest), "--identity", str(other)]) == 1
    assert "is not one this backup was encrypted to" in capsys.readouterr().err
    not_age = tmp_path / "not-an-identity.txt"
    not_age.write_text("hello\n")
    assert main(["restore", str(dest), "--identity", str(not_age)]) == 1
    assert "line 1 is not an age identity" in capsys.readouterr().err

    # nothing was created or changed in the target
    assert {p.name for p in target.data_dir.iterdir()} <= {"secret_key"}  # made by the CLI
    assert _occupied(target) == []


def test_damaged_ciphertext_is_refused_before_anything_changes(api, demo, identity, target,
                                                               tmp_path):
    _diarise(api, "y")
    id_file, public = identity
    result = backup(dataclasses.replace(demo.settings, backup_recipients=(public,)),
                    tmp_path / "bk")
    stored = result.snapshot / result.manifest["database"]["file"]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    _manifest, problems = check_snapshot(result.snapshot)
    assert problems == [f"{stored.name}: SHA-256 differs from the manifest"]
    with pytest.raises(BackupError, match="does not verify"):
        restore(target, tmp_path / "bk", identity=id_file)
    assert _occupied(target) == []


def test_incremental_rotation_and_pruning(api, demo, identity, tmp_path):
    _diarise(api, "one")
    _id_file, public = identity
    encrypted = dataclasses.replace(demo.settings, backup_recipients=(public,))
    dest = tmp_path / "bk"
    first = backup(encrypted, dest)
    assert first.uploads_copied == 1
    again = backup(encrypted, dest)
    assert (again.uploads_copied, again.uploads_skipped) == (0, 1)
    assert again.manifest["uploads"]["files"] == first.manifest["uploads"]["files"]

    # a new key: the uploads are stored again for it; the old copies go with their snapshots
    new_public = backup_crypt.write_identity(tmp_path / "new-identity.txt")
    rotated = backup(dataclasses.replace(demo.settings, backup_recipients=(new_public,)),
                     dest, keep=1)
    assert rotated.uploads_copied == 1
    assert len(rotated.pruned) == 2
    store = [p for p in (dest / "uploads").rglob("*") if p.is_file()]
    fingerprint = backup_crypt.fingerprint((new_public,))
    assert len(store) == 1
    assert store[0].name.endswith(f".{fingerprint}.age")
    assert check_snapshot(rotated.snapshot)[1] == []


def test_unencrypted_backups_warn_and_are_refused_in_production(demo, tmp_path, monkeypatch,
                                                                 capsys):
    _use(monkeypatch, demo.settings)
    assert main(["backup", str(tmp_path / "dev")]) == 0
    out = capsys.readouterr()
    assert "warning: the backup is NOT encrypted" in out.err
    assert "encryption: NOT encrypted" in out.out

    _use(monkeypatch, demo.settings, HTTPS="true")
    assert main(["backup", str(tmp_path / "prod")]) == 1
    assert "refusing an unencrypted backup on a production installation" in \
        capsys.readouterr().err
    assert not snapshots(tmp_path / "prod")
    assert main(["backup", str(tmp_path / "prod"), "--unencrypted"]) == 0
    assert len(snapshots(tmp_path / "prod")) == 1

    # the scheduled job under the same rule: it reports the refusal and goes on
    status = ship_now(dataclasses.replace(demo.settings, https=True,
                                          backup_dir=tmp_path / "shipped"))
    assert status["ok"] is False
    assert "SANCHIKA_BACKUP_RECIPIENTS" in status["error"]


def test_scheduled_backups_are_encrypted(api, demo, identity, target, tmp_path):
    _diarise(api, "z")
    id_file, public = identity
    status = ship_now(dataclasses.replace(demo.settings, backup_recipients=(public,),
                                          backup_dir=tmp_path / "shipped", https=True))
    assert status["ok"] is True, status
    snapshot = Path(status["last_success"]["snapshot"])
    assert check_snapshot(snapshot)[0]["encryption"]["recipients"] == [public]
    result = restore(target, snapshot, identity=id_file)
    assert result.encrypted
    assert result.problems == []
    assert result.verify.problems == []


def test_keygen_and_recipient_settings(tmp_path, capsys):
    out = tmp_path / "id.txt"
    assert main(["backup-keygen", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    public = next(line.split(": ")[1] for line in out.read_text().splitlines()
                  if line.startswith("# public key"))
    assert f"SANCHIKA_BACKUP_RECIPIENTS={public}" in err
    assert main(["backup-keygen", "--out", str(out)]) == 1
    assert "not overwritten" in capsys.readouterr().err

    env = {"SANCHIKA_DATA_DIR": str(tmp_path / "d")}
    listed = tmp_path / "recipients.txt"
    listed.write_text(f"# the office safe\n{public}\n")
    for value in (public, f" {public} , {public}", str(listed)):
        settings = Settings.from_env({**env, "SANCHIKA_BACKUP_RECIPIENTS": value})
        assert settings.backup_recipients == (public,)
    with pytest.raises(ValueError, match="is not an age public key"):
        Settings.from_env({**env, "SANCHIKA_BACKUP_RECIPIENTS": "age1notakey"})
    with pytest.raises(ValueError, match="neither age public keys"):
        Settings.from_env({**env, "SANCHIKA_BACKUP_RECIPIENTS": str(tmp_path / "none")})
    assert os.access(out, os.R_OK)
