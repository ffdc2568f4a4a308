"""`sanchika backup DEST` / `sanchika restore SRC`: a consistent copy of the database, the
uploads and the key material, with a manifest of SHA-256 hashes.

Layout of DEST (one backup target, many snapshots), encrypted (SANCHIKA_BACKUP_RECIPIENTS):

    DEST/uploads/ab/<sha256>.<fp>.age       uploads, content-addressed, shared by snapshots
                                            (fp names the recipients they are encrypted to)
    DEST/<snapshot>/manifest.json           what the snapshot holds and every hash
    DEST/<snapshot>/database.sqlite3.age    SQLite (online backup API), or
    DEST/<snapshot>/database.pgdump.age     PostgreSQL (pg_dump custom format)
    DEST/<snapshot>/keys/....age            the data folder's keys/ (signature keys)

Unencrypted (no recipients configured; refused under SANCHIKA_HTTPS unless asked for) the
same files without `.<fp>.age`. Encryption: engine/ops/backup_crypt.py. The plaintext of
the database copy is only ever written inside the data folder (which holds it anyway),
never into DEST. The manifest stays readable (so snapshots can be listed, checked and
pruned without the private identity): it holds hashes, sizes, row counts and the upload
names (the SHA-256 of each document), no content.

Consistency: the database copy is one snapshot of a live server (SQLite's backup API in a
single step under WAL; PostgreSQL's exported snapshot). Uploads are copied after it: they
are written before the transaction that refers to them commits and never change, so every
upload the database copy refers to is already on disk. An upload that arrives later is
merely extra.

Incremental: an upload whose hash is already in DEST/uploads is not copied again.

A snapshot is built in DEST/.tmp-<name> and renamed when complete, so a crash never leaves
something that looks like a snapshot. One backup at a time per DEST (a lock file), so the
scheduled job and a manual run never prune what the other is writing.

Secrets: `keys/` is included (signatures cannot be verified, nor made, without it), so an
unencrypted backup is as sensitive as the data folder: files are written 0600 in 0700
folders either way. The
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
from engine.ops import backup_crypt, backup_pg
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
VERSION = 2  # 2: encryption and the stored form of every file; version 1 is still read
READABLE = (1, 2)
UPLOADS = "uploads"
KEYS = "keys"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
DATABASE_FILES = (SQLITE_FILE, PG_FILE, SQLITE_FILE + backup_crypt.SUFFIX,
                  PG_FILE + backup_crypt.SUFFIX)
CHUNK = 1024 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")
STORED_UPLOAD = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}(\.[0-9a-f]{16}\.age)?")
UNENCRYPTED_NOTE = ("not encrypted: no SANCHIKA_BACKUP_RECIPIENTS configured; anyone who "
                    "gets this backup reads the database, the documents and the signing keys")
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
    warnings: list[str] = field(default_factory=list)

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
    encrypted: bool = False


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


def store_path(dest: Path, sha256: str, suffix: str = "") -> Path:
    return dest / UPLOADS / sha256[:2] / f"{sha256}{suffix}"


def _temporary(settings: Settings, kind: str) -> Path:
    """A private work folder inside the data folder, for plaintext that must never reach
    DEST (it holds the same data already)."""
    for stale in settings.data_dir.glob(f".{kind}-*-*"):
        if not _alive(stale.name.split("-")[1]):  # left by a process that was killed
            shutil.rmtree(stale, ignore_errors=True)
    work = settings.data_dir / f".{kind}-{os.getpid()}-{time.monotonic_ns()}"
    work.mkdir(mode=0o700)
    return work


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (ValueError, OSError):
        return True  # not ours to judge (another user's process, an odd name): keep it
    return True


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


def encryption_policy(settings: Settings, unencrypted: bool = False) -> list[str]:
    """Warnings for a backup about to be taken without encryption; a BackupError where
    that is refused: an installation served over HTTPS (SANCHIKA_HTTPS, i.e. production)
    must configure SANCHIKA_BACKUP_RECIPIENTS, unless the operator asks for it by name."""
    if settings.backup_recipients:
        return []
    if settings.https and not unencrypted:
        raise BackupError("refusing an unencrypted backup on a production installation "
                          "(SANCHIKA_HTTPS is on): set SANCHIKA_BACKUP_RECIPIENTS to an age "
                          "public key (`sanchika backup-keygen --out FILE` makes one), or "
                          "pass --unencrypted to accept the risk")
    return ["the backup is NOT encrypted (set SANCHIKA_BACKUP_RECIPIENTS; `sanchika "
            "backup-keygen --out FILE` makes a key): whoever gets it reads the database, the "
            "documents and the signing keys"]


def backup(settings: Settings, dest: Path, keep: int | None = None,
           progress: bool = False, unencrypted: bool = False) -> BackupResult:
    """Take one snapshot into DEST (see the module notes); keep only the newest `keep`."""
    started = time.monotonic()
    warnings = encryption_policy(settings, unencrypted)
    recipients = settings.backup_recipients
    dest = _mkdir(Path(dest).resolve())
    with _locked(dest):
        for stale in dest.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        created = _now()
        name = "snapshot-" + created.strftime("%Y%m%dT%H%M%S.%fZ")
        work = _mkdir(dest / f".tmp-{name}")
        plain = _temporary(settings, "backup")
        try:
            manifest: dict[str, Any] = {
                "format": FORMAT, "version": VERSION, "snapshot": name,
                "created_at": created.isoformat(),
                "source": {"dialect": make_url(settings.database_url).get_backend_name(),
                           "url": _redacted(settings.database_url),
                           "data_dir": str(settings.data_dir)},
                "secret_key": SECRET_KEY_NOTE,
                "encryption": ({"scheme": backup_crypt.SCHEME, "recipients": list(recipients)}
                               if recipients else None),
            }
            if not recipients:
                manifest["unencrypted"] = UNENCRYPTED_NOTE
            manifest["database"], manifest["schema_revision"], documents = \
                _backup_database(settings.database_url, plain)
            manifest["database"]["stored"] = _store(plain / manifest["database"]["file"],
                                                    work, recipients)
            manifest["database"]["file"] = manifest["database"]["stored"].pop("path")
            result = BackupResult(snapshot=dest / name, manifest=manifest,
                                  database_bytes=manifest["database"]["size"],
                                  warnings=warnings)
            manifest["uploads"] = _backup_uploads(settings.data_dir / UPLOADS, dest, result,
                                                  progress, recipients)
            listed = {f["sha256"] for f in manifest["uploads"]["files"]}
            # a document the database refers to whose file is gone from the data folder:
            # recorded (and reported), but the backup of everything else still goes ahead
            manifest["uploads"]["documents"] = len(documents)
            manifest["uploads"]["missing"] = sorted(documents - listed)
            manifest["keys"] = _backup_keys(settings.data_dir / KEYS, work / KEYS, recipients)
            manifest["manifest_sha256"] = manifest_hash(manifest)
            _write_private(work / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False)
                           .encode())
            os.replace(work, result.snapshot)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(plain, ignore_errors=True)
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


def _store(src: Path, folder: Path, recipients: tuple[str, ...],
           name: str | None = None) -> dict[str, Any]:
    """Put one file into the backup: encrypted to the recipients (`<name>.age`), or a
    plain private copy; {"path": stored name, "sha256", "size"} of what is stored."""
    name = name or src.name
    if recipients:
        name += backup_crypt.SUFFIX
        sha, size = backup_crypt.encrypt(src, folder / name, recipients)
    else:
        sha = _copy(src, folder / name)
        size = (folder / name).stat().st_size
    return {"path": name, "sha256": sha, "size": size}


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


def _known_stored(dest: Path) -> dict[str, dict[str, Any]]:
    """What the newest readable snapshot says of each stored upload ({stored path: stored
    entry}), so an upload already in the store is not read again to hash it (it lists
    every upload of its time; later ones are new anyway)."""
    for snap in reversed(snapshots(dest)):
        manifest, _problems = load_manifest(snap)
        if manifest is None:
            continue
        try:
            return {entry["stored"]["path"]: entry["stored"]
                    for entry in upload_entries(manifest)}
        except (KeyError, TypeError):
            continue
    return {}


def _backup_uploads(root: Path, dest: Path, result: BackupResult,
                    progress: bool, recipients: tuple[str, ...]) -> dict[str, Any]:
    files = _files(root)
    _mkdir(dest / UPLOADS)
    suffix = (f".{backup_crypt.fingerprint(recipients)}{backup_crypt.SUFFIX}"
              if recipients else "")
    known = _known_stored(dest) if files else {}
    listed = []
    total = sum(p.stat().st_size for p in files)
    with tqdm(total=total, unit="B", unit_scale=True, desc="uploads",
              disable=not progress or not files, leave=False) as bar:
        for path in files:
            sha = file_sha256(path)
            size = path.stat().st_size
            target = store_path(dest, sha, suffix)
            stored_path = target.relative_to(dest / UPLOADS).as_posix()
            if target.is_file() and (suffix or target.stat().st_size == size):
                result.uploads_skipped += 1
                bar.update(size)
                stored = known.get(stored_path)
                if stored is None or stored.get("size") != target.stat().st_size:
                    digest, stored_size = backup_crypt.sha256_size(target)
                    stored = {"path": stored_path, "sha256": digest, "size": stored_size}
            else:
                stored = _store_upload(path, sha, target, recipients, bar)
                result.uploads_copied += 1
                result.bytes_copied += size
            listed.append({"path": path.relative_to(root).as_posix(), "sha256": sha,
                           "size": size, "stored": {**stored, "path": stored_path}})
    return {"store": f"../{UPLOADS}", "count": len(listed), "bytes": total,
            "copied": result.uploads_copied, "skipped": result.uploads_skipped,
            "files": listed}


def _store_upload(path: Path, sha: str, target: Path, recipients: tuple[str, ...],
                  bar: tqdm) -> dict[str, Any]:
    """One upload into the store: written beside its place, checked, renamed into it."""
    tmp = _mkdir(target.parent) / f".{sha}.{os.getpid()}.part"
    try:
        if recipients:
            copied = file_sha256(path)
            stored_sha, stored_size = backup_crypt.encrypt(path, tmp, recipients)
            # the plaintext hashed again after encrypting: it must not have changed between
            if file_sha256(path) != copied:
                copied = ""
            bar.update(path.stat().st_size)
        else:
            copied = stored_sha = _copy(path, tmp, bar)
            stored_size = tmp.stat().st_size
        if copied != sha:  # changed under us: uploads are meant never to change
            raise BackupError(f"upload {path} changed while it was being copied")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return {"sha256": stored_sha, "size": stored_size}


def _backup_keys(root: Path, out: Path, recipients: tuple[str, ...]) -> dict[str, Any]:
    listed = []
    for path in _files(root):
        rel = path.relative_to(root)
        _mkdir((out / rel).parent)
        stored = _store(path, (out / rel).parent, recipients)
        stored["path"] = (rel.parent / stored["path"]).as_posix()
        listed.append({"path": rel.as_posix(), "sha256": file_sha256(path),
                       "size": path.stat().st_size, "stored": stored})
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
            needed.update(f["stored"]["path"] for f in upload_entries(manifest))
        except (ValueError, KeyError, TypeError):
            return removed  # an unreadable manifest: keep every upload rather than guess
    for path in _files(dest / UPLOADS):
        if path.relative_to(dest / UPLOADS).as_posix() not in needed:
            path.unlink()
    return removed


def upload_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's uploads, each with its stored form (version 1 stored them as they
    are, named by their hash)."""
    out = []
    for entry in manifest["uploads"]["files"]:
        if "stored" not in entry:
            sha = str(entry["sha256"])
            entry = {**entry, "stored": {"path": f"{sha[:2]}/{sha}", "sha256": sha,
                                         "size": entry["size"]}}
        out.append(entry)
    return out


def key_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's key files, each with its stored form (version 1: as they are)."""
    return [entry if "stored" in entry else
            {**entry, "stored": {"path": entry["path"], "sha256": entry["sha256"],
                                 "size": entry["size"]}}
            for entry in manifest["keys"]["files"]]


def database_stored(manifest: dict[str, Any]) -> dict[str, Any]:
    db = manifest["database"]
    return dict(db.get("stored") or {"sha256": db["sha256"], "size": db["size"]})


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
    if manifest.get("version") not in READABLE:
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
        if db["file"] not in DATABASE_FILES:
            return None, [f"{MANIFEST}: unknown database file {db['file']!r}"]
        checks = [(snapshot / db["file"], db["file"], database_stored(manifest))]
        dest = snapshot.parent
        for entry in upload_entries(manifest):
            rel = str(entry["stored"]["path"])
            if not SHA256.fullmatch(str(entry["sha256"])) or not STORED_UPLOAD.fullmatch(rel) \
                    or rel[3:67] != entry["sha256"]:
                return None, [f"{MANIFEST}: upload {entry['path']!r} has no valid SHA-256 "
                              "or stored name"]
            checks.append((dest / UPLOADS / rel, f"upload {entry['path']} ({UPLOADS}/{rel})",
                           entry["stored"]))
        for entry in key_entries(manifest):
            rel = str(entry["stored"]["path"])
            checks.append((_inside(snapshot / KEYS, rel), f"{KEYS}/{rel}", entry["stored"]))
    except (KeyError, TypeError) as exc:
        return None, [f"{MANIFEST}: incomplete ({exc})"]
    except BackupError as exc:
        return None, [exc.message]
    for path, label, entry in tqdm(checks, desc="verifying", unit="file",
                                   disable=not progress, leave=False):
        problem = _check_file(path, label, entry)
        if problem:
            problems.append(problem)
    return manifest, problems


# ---------------------------------------------------------------- restore


def restore(settings: Settings, src: Path, force: bool = False,
            progress: bool = False, identity: Path | None = None) -> RestoreResult:
    """Verify the snapshot completely, then restore it into the configured database and
    data folder, then check the result against the manifest. Refuses a backup that does
    not verify, an encrypted one without an identity that opens it, and a target that
    already holds data unless `force`; in each case before anything is changed."""
    started = time.monotonic()
    snapshot = find_snapshot(src)
    manifest, problems = check_snapshot(snapshot, progress)
    if problems or manifest is None:
        raise BackupError(f"refusing to restore {snapshot}: it does not verify",
                          [{"message": p} for p in problems])
    identities = _identities(manifest, identity, snapshot)
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

    plain = _temporary(settings, "restore")
    try:
        _restore_database(manifest, snapshot, identities, plain, url, force)
    finally:
        shutil.rmtree(plain, ignore_errors=True)

    uploads_root = settings.data_dir / UPLOADS
    keys_root = settings.data_dir / KEYS
    if force:
        shutil.rmtree(uploads_root, ignore_errors=True)
        shutil.rmtree(keys_root, ignore_errors=True)
    after: list[str] = []
    entries = upload_entries(manifest)
    with tqdm(total=manifest["uploads"]["bytes"], unit="B", unit_scale=True, desc="uploads",
              disable=not progress or not entries, leave=False) as bar:
        for entry in entries:
            after += _restore_file(snapshot.parent / UPLOADS / entry["stored"]["path"],
                                   _inside(uploads_root, entry["path"]), entry, identities,
                                   f"upload {entry['path']}", bar)
    keys = key_entries(manifest)
    for entry in keys:
        after += _restore_file(snapshot / KEYS / entry["stored"]["path"],
                               _inside(keys_root, entry["path"]), entry, identities,
                               f"{KEYS}/{entry['path']}")

    after += compare(manifest["database"]["tables"], figures(url))
    after += _missing_documents(url, uploads_root)
    report = _verify(url)
    return RestoreResult(snapshot=snapshot, manifest=manifest, uploads=len(entries),
                         keys=len(keys), problems=after, verify=report,
                         seconds=time.monotonic() - started,
                         encrypted=identities is not None)


def _identities(manifest: dict[str, Any], identity: Path | None, snapshot: Path
                ) -> list[Any] | None:
    """The age identities that open an encrypted snapshot (None: it is not encrypted)."""
    encryption = manifest.get("encryption")
    if not encryption:
        return None
    if encryption.get("scheme") != backup_crypt.SCHEME:
        raise BackupError(f"{MANIFEST}: unknown encryption {encryption.get('scheme')!r}")
    recipients = [str(r) for r in encryption.get("recipients") or []]
    if identity is None:
        raise BackupError(f"refusing to restore {snapshot}: it is encrypted (age, to "
                          f"{', '.join(recipients)}); give its identity file with "
                          "--identity FILE; nothing was changed")
    found = backup_crypt.load_identities(identity)
    backup_crypt.check_identity(found, recipients, str(snapshot))
    return found


def _restore_database(manifest: dict[str, Any], snapshot: Path, identities: list[Any] | None,
                      plain: Path, url: str, force: bool) -> None:
    """Decrypt the database copy (inside the data folder) and check it against the
    manifest before the target is touched; then load it."""
    db = manifest["database"]
    file = snapshot / db["file"]
    if identities is not None:
        decrypted = plain / file.name.removesuffix(backup_crypt.SUFFIX)
        sha, size = backup_crypt.decrypt(file, decrypted, identities, db["file"])
        if (sha, size) != (db["sha256"], db["size"]):
            raise BackupError(f"refusing to restore: {db['file']} decrypts to something else "
                              "than the manifest describes; nothing was changed")
        file = decrypted
    if make_url(url).get_backend_name() == "sqlite":
        _restore_sqlite(file, _sqlite_path(url))
    else:
        backup_pg.ensure_database(url)
        if force:
            backup_pg.wipe(url)
        backup_pg.restore(url, file)


def _restore_file(stored: Path, target: Path, entry: dict[str, Any],
                  identities: list[Any] | None, label: str, bar: tqdm | None = None
                  ) -> list[str]:
    """One upload or key file back into the data folder; its problems (none: restored and
    equal to the manifest's hash)."""
    _mkdir(target.parent)
    if identities is None:
        sha = _copy(stored, target, bar)
    else:
        try:
            sha, _size = backup_crypt.decrypt(stored, target, identities, label)
        except BackupError as exc:
            return [exc.message]
        if bar is not None:
            bar.update(entry["size"])
    return [] if sha == entry["sha256"] else [f"{label}: changed while being restored"]


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
