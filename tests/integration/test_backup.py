"""Backup and restore on the real database (SQLite, or PostgreSQL when
SANCHIKA_TEST_DATABASE_URL is set): nothing lost, incremental uploads, damaged backups
refused with the damaged item named, occupied targets refused without --force."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

import handlers
from engine.app import Sanchika
from engine.audit.verify import verify_database
from engine.config import Settings
from engine.domain import uploads
from engine.ops.backup import (
    BackupError,
    backup,
    check_snapshot,
    figures,
    find_snapshot,
    restore,
    snapshots,
    store_path,
)
from tests.backup_fixtures import restore_target  # noqa: F401  (the `target` fixture)
from tests.pdfs import make_pdf

FIELDS = {"sender": "Collector, Jaipur", "subject": "Scanned letter", "mode": "post"}


def diarise_pdf(api, title: str, user: str = "clerk") -> dict:
    r = api.post("/receipts", user, data=FIELDS,
                 files={"pdf": (f"{title}.pdf", make_pdf(title), "application/pdf")})
    assert r.status_code == 201, r.text
    return r.json()


def upload_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


@pytest.fixture
def keys(demo: Sanchika) -> dict[str, bytes]:
    """Key material in the data folder's keys/: the audit master key and users' signing
    keys the demo's approvals made, and two more files."""
    folder = demo.settings.data_dir / "keys" / "users"
    folder.mkdir(parents=True, exist_ok=True)
    files = {"users/clerk.pub": b"public key of clerk\n", "users/clerk.key": b"private\n"}
    for rel, data in files.items():
        (demo.settings.data_dir / "keys" / rel).write_bytes(data)
    return upload_files(demo.settings.data_dir / "keys")


def test_backup_restore_loses_nothing(api, demo, keys, target, tmp_path):
    for n in range(3):
        diarise_pdf(api, f"letter {n}")
    source = demo.settings
    before = figures(source.database_url)
    assert before["documents"]["rows"] == 3
    assert before["history_events"]["rows"] > 0

    result = backup(source, tmp_path / "bk")
    manifest = result.manifest
    assert manifest["database"]["tables"] == before
    assert manifest["uploads"]["count"] == 3
    assert result.uploads_copied == 3
    assert manifest["uploads"]["missing"] == []
    assert {f["path"] for f in manifest["keys"]["files"]} == set(keys)
    assert manifest["schema_revision"]
    assert not (result.snapshot / "secret_key").exists()

    restored = restore(target, tmp_path / "bk")
    assert restored.problems == []
    assert restored.verify.problems == []
    assert restored.verify.instances > 0
    assert figures(target.database_url) == before  # row counts and per-table hashes
    assert upload_files(target.data_dir / "uploads") == upload_files(source.data_dir / "uploads")
    assert upload_files(target.data_dir / "keys") == keys

    # the restored copy works: same inbox, and each PDF is served back by hash
    copy = Sanchika(target, handlers.registry)
    try:
        clerk_source = demo.authenticate("clerk", "demo-pass-1")
        clerk_copy = copy.authenticate("clerk", "demo-pass-1")
        assert copy.inbox(clerk_copy) == demo.inbox(clerk_source)
        with copy.db.reader() as s:
            from engine.store.models import Document
            for document in s.query(Document):
                assert hashlib.sha256(uploads.read(target.data_dir, document)).hexdigest() \
                    == document.sha256
        assert verify_database(copy.db).problems == []
    finally:
        copy.db.dispose()


def test_second_backup_copies_only_new_uploads(api, demo, tmp_path):
    diarise_pdf(api, "one")
    diarise_pdf(api, "two")
    first = backup(demo.settings, tmp_path / "bk")
    second = backup(demo.settings, tmp_path / "bk")
    assert (first.uploads_copied, first.uploads_skipped) == (2, 0)
    assert (second.uploads_copied, second.uploads_skipped, second.bytes_copied) == (0, 2, 0)
    diarise_pdf(api, "three")
    third = backup(demo.settings, tmp_path / "bk")
    assert (third.uploads_copied, third.uploads_skipped) == (1, 2)
    assert len(snapshots(tmp_path / "bk")) == 3
    assert len(list((tmp_path / "bk" / "uploads").rglob("*"))) == 3 + 3  # 3 dirs, 3 files
    for snap in snapshots(tmp_path / "bk"):
        assert check_snapshot(snap)[1] == []
    assert find_snapshot(tmp_path / "bk") == third.snapshot


def test_keep_prunes_old_snapshots_and_their_uploads(api, demo, target, tmp_path):
    diarise_pdf(api, "kept by nobody")
    backup(demo.settings, tmp_path / "bk")
    only_in_first = next(iter(upload_files(demo.settings.data_dir / "uploads")))
    (demo.settings.data_dir / "uploads" / only_in_first).unlink()  # as if purged later
    diarise_pdf(api, "new")
    last = backup(demo.settings, tmp_path / "bk", keep=1)
    assert len(last.pruned) == 1
    assert snapshots(tmp_path / "bk") == [last.snapshot]
    sha = Path(only_in_first).name
    assert not store_path(tmp_path / "bk", sha).exists()
    assert last.manifest["uploads"]["missing"] == [sha]  # the database still names it
    assert check_snapshot(last.snapshot)[1] == []
    # the snapshot restores, and the restore says which document came back without its PDF
    done = restore(target, last.snapshot)
    assert done.problems == [f"document {sha}: its upload is missing from "
                             f"{target.data_dir / 'uploads'}"]


def _only_snapshot(api, demo, tmp_path) -> tuple[Path, dict]:
    diarise_pdf(api, "evidence")
    result = backup(demo.settings, tmp_path / "bk")
    return result.snapshot, result.manifest


def _refused(target: Settings, src: Path) -> list[str]:
    with pytest.raises(BackupError) as caught:
        restore(target, src)
    assert "does not verify" in caught.value.message
    return [d["message"] for d in caught.value.details]


def _target_untouched(target: Settings) -> None:
    assert not (target.data_dir / "uploads").exists()
    if target.database_url.startswith("sqlite"):
        assert not Path(make_url(target.database_url).database).exists()
    else:
        engine = create_engine(target.database_url)
        tables, error = 0, None
        try:
            with engine.connect() as conn:
                tables = conn.execute(text("SELECT count(*) FROM pg_tables WHERE "
                                           "schemaname = 'public'")).scalar_one()
        except OperationalError as exc:  # never created is untouched too
            error = str(exc)
        finally:
            engine.dispose()
        assert tables == 0
        assert error is None or "does not exist" in error


def test_flipped_byte_in_database_copy_is_refused(api, demo, target, tmp_path):
    snapshot, manifest = _only_snapshot(api, demo, tmp_path)
    db_file = snapshot / manifest["database"]["file"]
    data = bytearray(db_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    db_file.write_bytes(bytes(data))
    assert _refused(target, snapshot) == [
        f"{manifest['database']['file']}: SHA-256 differs from the manifest"]
    _target_untouched(target)


def test_deleted_upload_is_refused(api, demo, target, tmp_path):
    _, manifest = _only_snapshot(api, demo, tmp_path)
    entry = manifest["uploads"]["files"][0]
    store_path(tmp_path / "bk", entry["sha256"]).unlink()
    problems = _refused(target, tmp_path / "bk")
    assert len(problems) == 1
    assert entry["sha256"] in problems[0]
    assert problems[0].endswith("missing")
    _target_untouched(target)


def test_edited_manifest_is_refused(api, demo, target, tmp_path):
    snapshot, manifest = _only_snapshot(api, demo, tmp_path)
    manifest["database"]["tables"]["documents"]["rows"] += 1
    (snapshot / "manifest.json").write_text(json.dumps(manifest, indent=2))
    problems = _refused(target, snapshot)
    assert problems == ["manifest.json: its hash does not match its content (altered after "
                        "the backup was taken)"]
    _target_untouched(target)


def test_changed_key_file_is_refused(api, demo, keys, target, tmp_path):
    snapshot, _ = _only_snapshot(api, demo, tmp_path)
    (snapshot / "keys" / "users" / "clerk.pub").write_bytes(b"public key of mallory\n")
    assert _refused(target, snapshot) == [
        "keys/users/clerk.pub: 22 bytes, the manifest says 20"]


def test_occupied_target_needs_force(api, demo, target, tmp_path):
    snapshot, manifest = _only_snapshot(api, demo, tmp_path)
    restore(target, snapshot)
    stray = target.data_dir / "uploads" / "zz" / "stray"
    stray.parent.mkdir()
    stray.write_bytes(b"not in the backup")
    with pytest.raises(BackupError) as caught:
        restore(target, snapshot)
    assert "refusing to restore over existing data" in caught.value.message
    assert "tables" in caught.value.message
    assert "holds" in caught.value.message
    done = restore(target, snapshot, force=True)
    assert done.problems == []
    assert done.verify.problems == []
    assert not stray.exists()
    assert figures(target.database_url) == manifest["database"]["tables"]


def test_snapshot_is_consistent_while_the_server_writes(api, demo, target, tmp_path):
    """Backups taken while clerks diarise letters over HTTP: each snapshot is one moment
    (the history chains and instance rows agree) and restores to exactly its manifest."""
    stop = threading.Event()
    written: list[int] = []
    failures: list[str] = []

    def writer() -> None:
        n = 0
        while not stop.is_set():
            r = api.post("/receipts", "clerk", json={**FIELDS, "subject": f"busy {n}"})
            if r.status_code != 201:
                failures.append(r.text)
            n += 1
            written.append(n)

    api.login("clerk")
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        taken = []
        while len(taken) < 3:
            if len(written) >= 3 * (len(taken) + 1):
                taken.append(backup(demo.settings, tmp_path / "bk"))
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not failures
    receipts = [t.manifest["database"]["tables"]["receipts"]["rows"] for t in taken]
    assert receipts == sorted(receipts)
    assert receipts[0] < receipts[-1]
    for i, snap in enumerate(taken):
        done = restore(target, snap.snapshot, force=i > 0)
        assert done.problems == [], snap.snapshot
        assert done.verify.problems == [], snap.snapshot
