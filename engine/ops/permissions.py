"""The data folder is the installation's secrets (database, uploads, keys): only the account
that runs Sanchika may read it. The process umask makes new files owner-only; `tighten`
repairs a folder made before (or copied in with looser modes)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077


def restrict_umask() -> int:
    """Files and folders made by this process from now on are owner-only."""
    return os.umask(PRIVATE_UMASK)


def loose(data_dir: Path) -> list[str]:
    """Every path in the data folder that its group or others may read, write or enter."""
    out = []
    for path in [data_dir, *sorted(data_dir.rglob("*"))]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            out.append(f"{path} is {mode:04o}")
    return out


def tighten(data_dir: Path) -> int:
    """Make the data folder 0700 and everything in it 0700 (folders) / 0600 (files);
    returns how many modes were changed."""
    changed = 0
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.is_symlink():
            continue
        want = 0o700 if path.is_dir() else 0o600
        if stat.S_IMODE(path.stat().st_mode) != want:
            path.chmod(want)
            changed += 1
    return changed
