"""`sanchika backup DEST [--keep N] [--unencrypted]`, `sanchika restore SRC [--force]
[--check] [--identity FILE]` and `sanchika backup-keygen --out FILE`: what they print
(engine/ops/backup.py and backup_crypt.py do the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from engine.config import Settings
from engine.ops import backup_crypt
from engine.ops.backup import BackupError, backup, check_snapshot, find_snapshot, restore


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _refused(exc: BackupError) -> int:
    print(f"error: {exc.message}", file=sys.stderr)
    for detail in exc.details:
        print(f"  {detail['message']}", file=sys.stderr)
    return 1


def run_keygen(out: str) -> int:
    if out == "-":
        text, public = backup_crypt.new_identity()
        print(text, end="")
    else:
        try:
            public = backup_crypt.write_identity(Path(out))
        except BackupError as exc:
            return _refused(exc)
        print(f"identity written to {out} (keep it away from the server and its backups: "
              "without it no backup made for it can be restored)", file=sys.stderr)
    print(f"public key: {public}", file=sys.stderr)
    print(f"configure it on the server: SANCHIKA_BACKUP_RECIPIENTS={public}", file=sys.stderr)
    return 0


def _encryption(manifest: dict[str, Any]) -> str:
    encryption = manifest.get("encryption")
    if not encryption:
        return "NOT encrypted"
    return f"encrypted ({encryption['scheme']}) to {', '.join(encryption['recipients'])}"


def run_backup(settings: Settings, dest: Path, keep: int | None,
               unencrypted: bool = False) -> int:
    try:
        result = backup(settings, dest, keep=keep, progress=sys.stderr.isatty(),
                        unencrypted=unencrypted)
    except BackupError as exc:
        return _refused(exc)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    m = result.manifest
    db, uploads = m["database"], m["uploads"]
    print(f"snapshot: {result.snapshot}")
    print(f"encryption: {_encryption(m)}")
    print(f"database: {m['source']['dialect']} {_size(result.database_bytes)}, "
          f"{len(db['tables'])} tables, {result.rows} rows, schema {m['schema_revision']}")
    print(f"uploads: {uploads['count']} files ({_size(uploads['bytes'])}): "
          f"{result.uploads_copied} copied ({_size(result.bytes_copied)}), "
          f"{result.uploads_skipped} already in the store")
    if uploads["missing"]:
        print(f"warning: {len(uploads['missing'])} document(s) in the database have no file "
              f"in the uploads folder: {', '.join(uploads['missing'])}", file=sys.stderr)
    print(f"keys: {len(m['keys']['files'])} files; session secret not included")
    if result.pruned:
        print(f"pruned: {len(result.pruned)} older snapshot(s)")
    print(f"took {result.seconds:.2f} s")
    return 0


def run_restore(settings: Settings, src: Path, force: bool, check: bool,
                identity: Path | None = None) -> int:
    progress = sys.stderr.isatty()
    if check:
        try:
            snapshot = find_snapshot(src)
        except BackupError as exc:
            return _refused(exc)
        manifest, problems = check_snapshot(snapshot, progress)
        if problems or manifest is None:
            print(f"error: {snapshot} does not verify", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"{snapshot}: verified ({len(manifest['uploads']['files'])} uploads, "
              f"{len(manifest['keys']['files'])} key files, database "
              f"{manifest['database']['file']}; {_encryption(manifest)})")
        return 0
    try:
        result = restore(settings, src, force=force, progress=progress, identity=identity)
    except BackupError as exc:
        return _refused(exc)
    m = result.manifest
    rows = sum(t["rows"] for t in m["database"]["tables"].values())
    print(f"restored {result.snapshot} (taken {m['created_at']}; "
          f"{'decrypted' if result.encrypted else 'not encrypted'})")
    target = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"database {target}: "
          f"{len(m['database']['tables'])} tables, {rows} rows, schema {m['schema_revision']}")
    print(f"uploads: {result.uploads} files into {settings.data_dir / 'uploads'}; "
          f"keys: {result.keys} files")
    failed = False
    for problem in result.problems:
        print(f"  {problem}", file=sys.stderr)
        failed = True
    if not result.problems:
        print("row counts and table hashes equal the manifest")
    report = result.verify
    if report.problems:
        for problem in report.problems:
            print(problem)
        print(f"verify: {len(report.problems)} problem(s)", file=sys.stderr)
        failed = True
    else:
        print(f"verified: {report.instances} instances, {report.events} events, "
              f"{report.locked_files} locked files: intact")
    print(f"took {result.seconds:.2f} s")
    return 1 if failed else 0
