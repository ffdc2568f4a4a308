"""The audit master key: one secret in the data folder (never in the database) from
which the checkpoint HMAC key and the keys that encrypt users' signing keys are derived.

Someone with write access to the database alone can neither forge a checkpoint nor sign
as a user; someone who also reads `keys/master.key` can. Keep the data folder's `keys/`
on storage the database administrators cannot read, and back it up separately.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_FILE = "master.key"


class AuditKeys:
    def __init__(self, data_dir: Path):
        self.dir = Path(data_dir) / "keys"
        self._master: bytes | None = None

    @property
    def master_path(self) -> Path:
        return self.dir / MASTER_FILE

    def exists(self) -> bool:
        return self.master_path.is_file()

    def master(self, create: bool = True) -> bytes:
        """The 32-byte master key, generated (mode 0600) on first use when `create`."""
        if self._master is None:
            path = self.master_path
            if not path.is_file():
                if not create:
                    raise FileNotFoundError(f"no audit key at {path}")
                self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    pass  # another process made it first: use theirs
                else:
                    with os.fdopen(fd, "wb") as out:
                        out.write(secrets.token_bytes(32))
            self._master = path.read_bytes()
            if len(self._master) != 32:
                raise ValueError(f"{path}: not a Sanchika audit key (expected 32 bytes)")
        return self._master

    def derive(self, purpose: str, create: bool = True) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=f"sanchika:{purpose}".encode()).derive(self.master(create))

    def user_key_dir(self) -> Path:
        path = self.dir / "users"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path
