"""Encryption of backups with age (https://age-encryption.org, through pyrage): every file a
snapshot stores — the database copy, each upload, each key file — is an age file encrypted
to the configured recipients (SANCHIKA_BACKUP_RECIPIENTS, public keys `age1...`).

The server that takes backups holds only the public recipients: a stolen server or backup
disk does not let anyone read a backup. The private identity (`AGE-SECRET-KEY-1...`), made
by `sanchika backup-keygen`, is kept apart (an officer's safe, a password manager, a second
site) and given only to `sanchika restore --identity FILE`.

age is authenticated encryption (ChaCha20-Poly1305 in 64 KiB chunks), so a changed byte
fails the decryption; the manifest's hashes of the stored files let `restore --check` find
damage without the identity, and the plaintext hashes are checked again after decryption.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pyrage
from pyrage import x25519

from engine.ops.backup_pg import BackupError

SCHEME = "age"
SUFFIX = ".age"
CHUNK = 1024 * 1024


def parse_recipients(value: str | None) -> tuple[str, ...]:
    """SANCHIKA_BACKUP_RECIPIENTS: age public keys separated by commas, spaces or lines,
    or the path of a file holding them (one a line, `#` comments). Refused at start-up
    when one is not a valid age recipient."""
    text = (value or "").strip()
    if not text:
        return ()
    if not text.startswith("age1"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ValueError(f"SANCHIKA_BACKUP_RECIPIENTS: neither age public keys (age1...) "
                             f"nor a file of them: {text!r}")
        text = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
    found = []
    for word in text.replace(",", " ").split():
        try:
            x25519.Recipient.from_str(word)
        except pyrage.RecipientError:
            shown = word if word.startswith("age1") else word[:12] + "..."
            raise ValueError(f"SANCHIKA_BACKUP_RECIPIENTS: {shown!r} is not an age public "
                             "key (age1...; `sanchika backup-keygen` makes one)") from None
        if word not in found:
            found.append(word)
    return tuple(found)


def fingerprint(recipients: tuple[str, ...]) -> str:
    """A short name for a set of recipients: uploads encrypted to another set (after a
    change of key) are stored under another name, never mistaken for these."""
    return hashlib.sha256(",".join(sorted(recipients)).encode()).hexdigest()[:16]


def new_identity() -> tuple[str, str]:
    """(identity file text, its public recipient), in age's own identity-file format."""
    identity = x25519.Identity.generate()
    public = str(identity.to_public())
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    text = (f"# created: {created}\n# public key: {public}\n"
            "# Sanchika backup identity: keep it away from the server and its backups\n"
            f"{identity}\n")
    return text, public


def write_identity(path: Path) -> str:
    """Write a new identity file (0600; never over an existing file); its recipient."""
    text, public = new_identity()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} exists already; not overwritten (a lost identity is "
                          "every backup made for it lost)") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return public


def load_identities(path: Path) -> list[x25519.Identity]:
    """The identities in an age identity file (as `age-keygen` or `backup-keygen` write)."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"--identity {path}: cannot read it ({exc})") from None
    found = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            found.append(x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            raise BackupError(f"--identity {path}: line {number} is not an age identity "
                              "(AGE-SECRET-KEY-1...)") from None
    if not found:
        raise BackupError(f"--identity {path}: no age identity (AGE-SECRET-KEY-1...) in it")
    return found


def public_keys(identities: list[x25519.Identity]) -> list[str]:
    return [str(i.to_public()) for i in identities]


def check_identity(identities: list[x25519.Identity], recipients: list[str],
                   label: str) -> None:
    """Refuse before anything is touched when no identity opens this backup."""
    given = public_keys(identities)
    if not set(given) & set(recipients):
        raise BackupError(
            f"refusing to restore {label}: the identity given (public key "
            f"{', '.join(given)}) is not one this backup was encrypted to "
            f"({', '.join(recipients)}); nothing was changed")


def sha256_size(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def encrypt(src: Path, dst: Path, recipients: tuple[str, ...]) -> tuple[str, int]:
    """Encrypt src into dst (0600, synced; streamed, any size); dst's (sha256, size)."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        pyrage.encrypt_file(str(src), str(dst),
                            [x25519.Recipient.from_str(r) for r in recipients])
    except pyrage.EncryptError as exc:
        dst.unlink(missing_ok=True)
        raise BackupError(f"cannot encrypt {src.name}: {exc}") from None
    with dst.open("rb+") as fh:
        os.fsync(fh.fileno())
    return sha256_size(dst)


def decrypt(src: Path, dst: Path, identities: list[x25519.Identity], label: str
            ) -> tuple[str, int]:
    """Decrypt src into dst (0600); the plaintext's (sha256, size). A wrong identity or a
    changed byte is a BackupError naming the file, and leaves no dst behind."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        pyrage.decrypt_file(str(src), str(dst), identities)
    except pyrage.DecryptError as exc:
        dst.unlink(missing_ok=True)
        raise BackupError(f"{label}: cannot decrypt it with the identity given ({exc})"
                          ) from None
    return sha256_size(dst)
