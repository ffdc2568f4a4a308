"""A real IMAP server for the tests: Dovecot (Debian's dovecot-imapd) started on loopback
with its own configuration in a temporary folder, one passwd-file user, plaintext sign-in
allowed on loopback, and implicit TLS on a second port with a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "dak-est"
PASSWORD = "imap-pass-1"


def available() -> bool:
    return os.path.exists(DOVECOT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


class Dovecot:
    def __init__(self) -> None:
        # Its own folder outside pytest's (0700) tmp tree: Dovecot's unprivileged
        # processes must reach the mail folder.
        self.folder = Path(tempfile.mkdtemp(prefix="sanchika-imap-"))
        self.folder.chmod(0o755)
        self.port = _free_port()
        self.tls_port = _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> Dovecot:
        f = self.folder
        for sub in ("run", "state", "mail"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        self.cert, key = self_signed(f)
        if os.geteuid() == 0:  # mail is never handled as root: the "nobody" account
            mail_user = pwd.getpwnam("nobody")
            login_user = internal_user = "dovenull"
            internal_user = "dovecot"
        else:
            mail_user = pwd.getpwuid(os.geteuid())
            login_user = internal_user = mail_user.pw_name
        os.chown(f / "mail", mail_user.pw_uid, mail_user.pw_gid)
        (f / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (f / "passwd").chmod(0o644)  # Dovecot's auth process reads it, whatever the umask
        (f / "dovecot.conf").write_text(f"""
base_dir = {f}/run
state_dir = {f}/state
log_path = {f}/dovecot.log
info_log_path = {f}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{f}/mail/%u
passdb {{
  driver = passwd-file
  args = {f}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={f}/mail/%u
}}
namespace inbox {{
  inbox = yes
  mailbox Diarised {{
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(f / "dovecot.conf")],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with self.client():
                    return self
            except (OSError, imaplib.IMAP4.error):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (f / "dovecot.log").read_text() if (f / "dovecot.log").exists() \
                        else ""
                    out = self.proc.stdout.read().decode() if self.proc.poll() is not None \
                        else ""
                    self.stop()
                    raise RuntimeError(f"dovecot did not start: {out}\n{log}") from None
                time.sleep(0.1)

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a mail into a folder as a mail server's delivery would (IMAP APPEND)."""
        with self.client() as c:
            status, data = c.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK", data

    def flags(self, folder: str = "INBOX") -> dict[int, bytes]:
        """UID -> flags of every mail in the folder."""
        with self.client() as c:
            c.select(folder, readonly=True)
            _status, data = c.uid("FETCH", "1:*", "(FLAGS)")
            out: dict[int, bytes] = {}
            for item in data:
                text = (item if isinstance(item, bytes) else item[0]) if item else b""
                # A flag change made meanwhile by another session (the poller marking a
                # mail seen) arrives as an extra FETCH without a UID; the answer to this
                # UID FETCH names every mail with its UID, so the extra one is left out.
                if b"UID " in text:
                    uid = int(text.split(b"UID ")[1].split()[0].rstrip(b")"))
                    out[uid] = text
            return out

    def count(self, folder: str) -> int:
        with self.client() as c:
            _status, data = c.select(folder, readonly=True)
            return int(data[0])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)
