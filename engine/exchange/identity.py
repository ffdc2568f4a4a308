"""This installation's identity: a name (SANCHIKA_INSTALLATION_NAME) and an Ed25519 key
pair kept in `<data_dir>/keys/installation.key` (mode 0600). Partners register the public
key; packages this installation sends are signed with the private one."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine.audit.signing import key_id_of, public_pem

KEY_FILE = "installation.key"


def _path(data_dir: Path) -> Path:
    return Path(data_dir) / "keys" / KEY_FILE


def private_key(data_dir: Path) -> Ed25519PrivateKey:
    """The installation key, made on first use (another process racing: theirs wins)."""
    path = _path(data_dir)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 key")
    return key


def public(data_dir: Path) -> tuple[str, str]:
    """(public key PEM, key id) of this installation."""
    key = private_key(data_dir).public_key()
    return public_pem(key), key_id_of(key)
