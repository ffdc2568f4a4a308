"""`sanchika backup DEST` / `sanchika restore SRC`: a consistent copy of the database, the
uploads and the key material, with a manifest of SHA-256 hashes.

Layout of DEST (one backup target, many snapshots):

    DEST/uploads/ab/<sha256>            uploads, content-addressed, shared by all snapshots
    DEST/<snapshot>/manifest.json       what the snapshot holds and every hash
    DEST/<snapshot>/database.sqlite3    SQLite (online backup API), or
    DEST/<snapshot>/database.pgdump     PostgreSQL (pg_dump custom format)
    DEST/<snapshot>/keys/...            the data folder's keys/ (signature keys)

Consistency: the database copy is one snapshot of a live server (SQLite's backup API in a
single step under WAL; PostgreSQL's exported snapshot). Uploads are copied after it: they
are written before the transaction that refers to them commits and never change, so every
upload the database copy refers to is already on disk. An upload that arrives later is
merely extra.

Incremental: an upload whose hash is already in DEST/uploads is not copied again.

A snapshot is built in DEST/.tmp-<name> and renamed when complete, so a crash never leaves
something that looks like a snapshot. One backup at a time per DEST (a lock file), so the
scheduled job and a manual run never prune what the other is writing.

Secrets: `keys/` is included (signatures cannot be verified, nor made, without it), so a
backup is as sensitive as the data folder: files are written 0600 in 0700 folders. The
session-signing `secret_key` is left out on purpose: losing it only signs everyone out
(a new one is generated on start), and leaving it out means a stolen backup cannot forge
sign-ins.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import DBAPIError
from tqdm import tqdm

from engine.audit.verify import Report, verify_database
from engine.config import Settings
from engine.ops import backup_pg
from engine.ops.backup_figures import (
    compare,
    document_hashes,
    file_sha256,
    schema_revision,
    table_figures,
)
from engine.ops.backup_pg import BackupError
from engine.store.db import Database

MANIFEST = "manifest.json"
FORMAT = "sanchika-backup"
VERSION = 1
UPLOADS = "uploads"
KEYS = "keys"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
CHUNK = 1024 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")
SECRET_KEY_NOTE = ("not included: the session-signing secret is regenerated on start "  # noqa: S105
                   "(everyone signs in again); a stolen backup cannot forge sign-ins")

__all__ = ["BackupError", "backup", "check_snapshot", "find_snapshot", "restore"]


@dataclass
class BackupResult:
    snapshot: Path
    manifest: dict[str, Any]
    database_bytes: int
    uploads_copied: int = 0
    uploads_skipped: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0
    pruned: list[Path] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.manifest["database"]["tables"].values())


@dataclass
class RestoreResult:
    snapshot: Path
    manifest: dict[str, Any]
    uploads: int
    keys: int
    problems: list[str]
    verify: Report
    seconds: float


# ---------------------------------------------------------------- small helpers


def _now() -> datetime:
    return datetime.now(UTC)


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def manifest_hash(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest without its own hash field (catches a damaged or naively
    edited manifest; someone able to recompute it is caught by nothing stored alongside)."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def _mkdir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _copy(src: Path, dst: Path, bar: tqdm | None = None) -> str:
    """Copy with hashing; the new file is private (0600) and on disk before we return."""
    digest = hashlib.sha256()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with src.open("rb") as fin, os.fdopen(fd, "wb") as fout:
        while chunk := fin.read(CHUNK):
            digest.update(chunk)
            fout.write(chunk)
            if bar is not None:
                bar.update(len(chunk))
        fout.flush()
        os.fsync(fout.fileno())
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    """Regular files under root, in a stable order; dot-files are work in progress."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".")
                                             for part in p.relative_to(root).parts))


def store_path(dest: Path, sha256: str) -> Path:
    return dest / UPLOADS / sha256[:2] / sha256


@contextmanager
def _locked(dest: Path) -> Iterator[None]:
    with (dest / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"cannot back up or restore an in-memory SQLite database ({url})")
    return Path(database)


def _sqlite_engine(path: Path, readonly: bool = True) -> Engine:
    uri = path.resolve().as_uri() + ("?mode=ro" if readonly else "")
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# ---------------------------------------------------------------- backup


def backup(settings: Settings, dest: Path, keep: int | None = None,
           progress: bool = False) -> BackupResult:
    """Take one snapshot into DEST (see the module notes); keep only the newest `keep`."""
    started = time.monotonic()
    dest = _mkdir(Path(dest).resolve())
    with _locked(dest):
        for stale in dest.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        created = _now()
        name = "snapshot-" + created.strftime("%Y%m%dT%H%M%S.%fZ")
        work = _mkdir(dest / f".tmp-{name}")
        try:
            manifest: dict[str, Any] = {
                "format": FORMAT, "version": VERSION, "snapshot": name,
                "created_at": created.isoformat(),
                "source": {"dialect": make_url(settings.database_url).get_backend_name(),
                           "url": _redacted(settings.database_url),
                           "data_dir": str(settings.data_dir)},
                "secret_key": SECRET_KEY_NOTE,
            }
            manifest["database"], manifest["schema_revision"], documents = \
                _backup_database(settings.database_url, work)
            result = BackupResult(snapshot=dest / name, manifest=manifest,
                                  database_bytes=manifest["database"]["size"])
            manifest["uploads"] = _backup_uploads(settings.data_dir / UPLOADS, dest, result,
                                                  progress)
            listed = {f["sha256"] for f in manifest["uploads"]["files"]}
            # a document the database refers to whose file is gone from the data folder:
            # recorded (and reported), but the backup of everything else still goes ahead
            manifest["uploads"]["documents"] = len(documents)
            manifest["uploads"]["missing"] = sorted(documents - listed)
            manifest["keys"] = _backup_keys(settings.data_dir / KEYS, work / KEYS)
            manifest["manifest_sha256"] = manifest_hash(manifest)
            _write_private(work / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False)
                           .encode())
            os.replace(work, result.snapshot)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        if keep is not None:
            result.pruned = prune(dest, keep)
    result.seconds = time.monotonic() - started
    return result


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _backup_database(url: str, work: Path) -> tuple[dict[str, Any], str | None, set[str]]:
    dialect = make_url(url).get_backend_name()
    if dialect == "sqlite":
        out = work / SQLITE_FILE
        _sqlite_snapshot(_sqlite_path(url), out)
        engine = _sqlite_engine(out)
        try:
            with engine.connect() as conn:
                figures, revision = table_figures(conn), schema_revision(conn)
                documents = document_hashes(conn)
        finally:
            engine.dispose()
        fmt = "sqlite3"
    elif dialect == "postgresql":
        out = work / PG_FILE
        with backup_pg.exported_snapshot(url) as (conn, snapshot):
            backup_pg.dump(url, snapshot, out)
            figures, revision = table_figures(conn), schema_revision(conn)
            documents = document_hashes(conn)
        out.chmod(0o600)
        fmt = "pg_dump-custom"
    else:
        raise BackupError(f"cannot back up a {dialect} database")
    info = {"file": out.name, "format": fmt, "size": out.stat().st_size,
            "sha256": file_sha256(out), "tables": figures}
    return info, revision, documents


def _sqlite_snapshot(source: Path, out: Path) -> None:
    """SQLite's online backup API in one step: one read transaction, so one consistent
    snapshot even while the server writes (WAL lets it go on writing meanwhile)."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source} (run `sanchika init`?)")
    src = sqlite3.connect(source, timeout=30)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)
            # one self-contained file: no -wal beside it to lose on the way
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the database at {source} fails SQLite's check: {check}")
        finally:
            dst.close()
    finally:
        src.close()


def _backup_uploads(root: Path, dest: Path, result: BackupResult,
                    progress: bool) -> dict[str, Any]:
    files = _files(root)
    _mkdir(dest / UPLOADS)
    listed = []
    total = sum(p.stat().st_size for p in files)
    with tqdm(total=total, unit="B", unit_scale=True, desc="uploads",
              disable=not progress or not files, leave=False) as bar:
        for path in files:
            sha = file_sha256(path)
            size = path.stat().st_size
            target = store_path(dest, sha)
            if target.is_file() and target.stat().st_size == size:
                result.uploads_skipped += 1
                bar.update(size)
            else:
                tmp = _mkdir(target.parent) / f".{sha}.{os.getpid()}.part"
                copied = _copy(path, tmp, bar)
                if copied != sha:  # changed under us: uploads are meant never to change
                    tmp.unlink()
                    raise BackupError(f"upload {path} changed while it was being copied")
                os.replace(tmp, target)
                result.uploads_copied += 1
                result.bytes_copied += size
            listed.append({"path": path.relative_to(root).as_posix(), "sha256": sha,
                           "size": size})
    return {"store": f"../{UPLOADS}", "count": len(listed), "bytes": total,
            "copied": result.uploads_copied, "skipped": result.uploads_skipped,
            "files": listed}


def _backup_keys(root: Path, out: Path) -> dict[str, Any]:
    listed = []
    for path in _files(root):
        rel = path.relative_to(root)
        target = out / rel
        _mkdir(target.parent)
        sha = _copy(path, target)
        listed.append({"path": rel.as_posix(), "sha256": sha, "size": path.stat().st_size})
    return {"included": bool(listed), "files": listed}


# ---------------------------------------------------------------- snapshots


def snapshots(dest: Path) -> list[Path]:
    """Complete snapshots in DEST, oldest first."""
    if not dest.is_dir():
        return []
    return sorted(p for p in dest.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())


def find_snapshot(src: Path) -> Path:
    """SRC is a snapshot, or a backup target meaning its newest snapshot."""
    src = Path(src).resolve()
    if (src / MANIFEST).is_file():
        return src
    found = snapshots(src)
    if not found:
        raise BackupError(f"{src}: no snapshot here (no {MANIFEST} in it or in any folder "
                          "inside)")
    return found[-1]


def prune(dest: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` snapshots, then uploads no snapshot needs any more.
    Call it holding the DEST lock."""
    if keep < 1:
        raise BackupError("--keep must be at least 1")
    existing = snapshots(dest)
    removed = existing[:-keep] if len(existing) > keep else []
    for old in removed:
        shutil.rmtree(old)
    needed: set[str] = set()
    for snap in snapshots(dest):
        try:
            manifest = json.loads((snap / MANIFEST).read_text())
            needed.update(f["sha256"] for f in manifest["uploads"]["files"])
        except (ValueError, KeyError, TypeError):
            return removed  # an unreadable manifest: keep every upload rather than guess
    for path in _files(dest / UPLOADS):
        if path.name not in needed:
            path.unlink()
    return removed


def load_manifest(snapshot: Path) -> tuple[dict[str, Any] | None, list[str]]:
    path = snapshot / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        return None, [f"{MANIFEST}: missing"]
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [f"{MANIFEST}: not valid JSON ({exc})"]
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None, [f"{MANIFEST}: not a Sanchika backup manifest"]
    if manifest.get("version") != VERSION:
        return None, [f"{MANIFEST}: version {manifest.get('version')} is not supported "
                      f"(this Sanchika reads version {VERSION})"]
    if manifest.get("manifest_sha256") != manifest_hash(manifest):
        return None, [f"{MANIFEST}: its hash does not match its content (altered after "
                      "the backup was taken)"]
    return manifest, []


def _check_file(path: Path, label: str, entry: dict[str, Any]) -> str | None:
    if not path.is_file():
        return f"{label}: missing"
    if path.stat().st_size != entry["size"]:
        return f"{label}: {path.stat().st_size} bytes, the manifest says {entry['size']}"
    if file_sha256(path) != entry["sha256"]:
        return f"{label}: SHA-256 differs from the manifest"
    return None


def check_snapshot(snapshot: Path, progress: bool = False) -> tuple[dict[str, Any] | None,
                                                                    list[str]]:
    """(manifest, problems): every file the snapshot needs, against its manifest hash."""
    manifest, problems = load_manifest(snapshot)
    if manifest is None:
        return None, problems
    try:
        db = manifest["database"]
        if db["file"] not in (SQLITE_FILE, PG_FILE):
            return None, [f"{MANIFEST}: unknown database file {db['file']!r}"]
        checks = [(snapshot / db["file"], db["file"], db)]
        dest = snapshot.parent
        for entry in manifest["uploads"]["files"]:
            if not SHA256.fullmatch(str(entry["sha256"])):
                return None, [f"{MANIFEST}: upload {entry['path']!r} has no valid SHA-256"]
            checks.append((store_path(dest, entry["sha256"]),
                           f"upload {entry['path']} ({UPLOADS}/{entry['sha256'][:2]}/"
                           f"{entry['sha256']})", entry))
        for entry in manifest["keys"]["files"]:
            checks.append((snapshot / KEYS / entry["path"], f"{KEYS}/{entry['path']}", entry))
    except (KeyError, TypeError) as exc:
        return None, [f"{MANIFEST}: incomplete ({exc})"]
    for path, label, entry in tqdm(checks, desc="verifying", unit="file",
                                   disable=not progress, leave=False):
        problem = _check_file(path, label, entry)
        if problem:
            problems.append(problem)
    return manifest, problems


# ---------------------------------------------------------------- restore


def restore(settings: Settings, src: Path, force: bool = False,
            progress: bool = False) -> RestoreResult:
    """Verify the snapshot completely, then restore it into the configured database and
    data folder, then check the result against the manifest. Refuses a backup that does
    not verify, and a target that already holds data unless `force`."""
    started = time.monotonic()
    snapshot = find_snapshot(src)
    manifest, problems = check_snapshot(snapshot, progress)
    if problems or manifest is None:
        raise BackupError(f"refusing to restore {snapshot}: it does not verify",
                          [{"message": p} for p in problems])
    url = settings.database_url
    dialect = make_url(url).get_backend_name()
    if manifest["source"]["dialect"] != dialect:
        raise BackupError(f"refusing to restore: the backup is of a "
                          f"{manifest['source']['dialect']} database, the target "
                          f"({_redacted(url)}) is {dialect}")
    occupied = _occupied(settings)
    if occupied and not force:
        raise BackupError("refusing to restore over existing data (use --force to replace "
                          "it): " + "; ".join(occupied))

    file = snapshot / manifest["database"]["file"]
    if dialect == "sqlite":
        _restore_sqlite(file, _sqlite_path(url))
    else:
        backup_pg.ensure_database(url)
        if force:
            backup_pg.wipe(url)
        backup_pg.restore(url, file)

    uploads_root = settings.data_dir / UPLOADS
    keys_root = settings.data_dir / KEYS
    if force:
        shutil.rmtree(uploads_root, ignore_errors=True)
        shutil.rmtree(keys_root, ignore_errors=True)
    after: list[str] = []
    entries = manifest["uploads"]["files"]
    with tqdm(total=manifest["uploads"]["bytes"], unit="B", unit_scale=True, desc="uploads",
              disable=not progress or not entries, leave=False) as bar:
        for entry in entries:
            target = _inside(uploads_root, entry["path"])
            _mkdir(target.parent)
            if _copy(store_path(snapshot.parent, entry["sha256"]), target, bar) \
                    != entry["sha256"]:
                after.append(f"upload {entry['path']}: changed while being restored")
    for entry in manifest["keys"]["files"]:
        target = _inside(keys_root, entry["path"])
        _mkdir(target.parent)
        if _copy(snapshot / KEYS / entry["path"], target) != entry["sha256"]:
            after.append(f"{KEYS}/{entry['path']}: changed while being restored")

    after += compare(manifest["database"]["tables"], figures(url))
    after += _missing_documents(url, uploads_root)
    report = _verify(url)
    return RestoreResult(snapshot=snapshot, manifest=manifest, uploads=len(entries),
                         keys=len(manifest["keys"]["files"]), problems=after, verify=report,
                         seconds=time.monotonic() - started)


def _verify(url: str) -> Report:
    """`sanchika verify` on the restored database."""
    db = Database(url)
    try:
        return verify_database(db)
    except DBAPIError as exc:
        return Report(problems=[f"cannot verify the restored database (its schema may be "
                                f"older than this Sanchika: run `sanchika init`): {exc.orig}"])
    finally:
        db.dispose()


def _missing_documents(url: str, uploads_root: Path) -> list[str]:
    """Every document the restored database refers to must have its file back."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            documents = document_hashes(conn)
    finally:
        engine.dispose()
    return [f"document {sha}: its upload is missing from {uploads_root}"
            for sha in sorted(documents) if not (uploads_root / sha[:2] / sha).is_file()]


def _inside(root: Path, relative: str) -> Path:
    """A manifest path, refused if it would land outside root (a crafted manifest)."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise BackupError(f"{MANIFEST}: path {relative!r} leaves the data folder")
    return target


def _occupied(settings: Settings) -> list[str]:
    """What the target already holds (empty list: safe to restore into)."""
    found = []
    url = settings.database_url
    if make_url(url).get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path.is_file() and path.stat().st_size:
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                tables = conn.execute("SELECT count(*) FROM sqlite_master "
                                      "WHERE type = 'table'").fetchone()[0]
            finally:
                conn.close()
            if tables:
                found.append(f"the database {path} has {tables} tables")
    else:
        backup_pg.ensure_database(url)
        engine = create_engine(url)
        try:
            with engine.connect() as pg:
                tables = backup_pg.user_tables(pg)
        finally:
            engine.dispose()
        if tables:
            found.append(f"the database {_redacted(url)} has {tables} tables")
    for folder in (UPLOADS, KEYS):
        count = len(_files(settings.data_dir / folder))
        if count:
            found.append(f"{settings.data_dir / folder} holds {count} files")
    return found


def _restore_sqlite(snapshot_file: Path, target: Path) -> None:
    """Build the database beside the target, then swap it in. A stale -wal of the old
    database is removed first: SQLite would otherwise replay it onto the restored file."""
    _mkdir(target.parent)
    tmp = target.with_name(f".{target.name}.restoring")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(snapshot_file.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, target)


def _engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(_sqlite_path(url), readonly=False)
    return create_engine(url)


def figures(url: str) -> dict[str, dict[str, Any]]:
    """Row counts and content hashes of every table of a live database."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return table_figures(conn)
    finally:
        engine.dispose()
