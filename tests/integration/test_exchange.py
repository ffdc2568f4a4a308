"""Two Sanchika servers on loopback, each with its own database and keys: a file sent from
the collectorate arrives at the secretariat as a verified electronic receipt in the
addressed post's inbox; a partner that is down gets the package once it is up again,
exactly once; forged, altered and replayed packages are refused with their reason and
nothing is diarised."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.exchange import envelope as envelopes
from engine.ops.demo import create_demo
from engine.store.models import Receipt
from tests.clients import PASSWORD
from tests.clients import HttpClient as Client
from tests.conftest import _free_port
from tests.flow import inbox, open_file


class Server:
    """A real WSGI server (waitress) that can be stopped and started again on its port."""

    def __init__(self, app: Sanchika, port: int | None = None):
        from web.app import create_app

        self.wsgi = create_app(app.settings, app)
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Server:
        from waitress.server import create_server

        srv = create_server(self.wsgi, host="127.0.0.1", port=self.port, threads=4)
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                srv.asyncore.loop(timeout=0.05, map=srv._map, count=1)
            srv.close()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@pytest.fixture
def secretariat(tmp_path: Path):
    """The second installation: its own data folder, keys and (SQLite) database."""
    folder = tmp_path / "secretariat"
    folder.mkdir()
    settings = Settings.from_env({
        "SANCHIKA_DATA_DIR": str(folder / "data"),
        "SANCHIKA_DATABASE_URL": f"sqlite:///{folder / 'sanchika.db'}",
        "SANCHIKA_SECRET_KEY": "other-secret", "SANCHIKA_INSTALLATION_NAME": "secretariat"})
    app = Sanchika(settings, handlers.registry)
    app.init()
    create_demo(app, PASSWORD)
    server = Server(app).start()
    yield app, server
    server.stop()
    app.db.dispose()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This test's installation is the collectorate."""
    return replace(settings, installation_name="collectorate")


def receipts_in(app: Sanchika) -> int:
    with app.db.reader() as s:
        return s.scalar(select(func.count()).select_from(Receipt))


def pair(api: Client, server: str, other: Client, other_url: str) -> None:
    """Each administrator registers the other installation (name, URL, public key)."""
    for here, url in ((api, other_url), (other, server)):
        ident = requests.get(f"{url}/api/v1/exchange/identity", timeout=10).json()
        r = here.post("/exchange/partners", "admin", json={
            "name": ident["name"], "url": url, "public_key": ident["public_key"]})
        assert r.status_code == 201, r.text


def test_file_travels_verified_once_even_through_a_partner_outage(demo, api, server,
                                                                   secretariat):
    other_app, other_server = secretariat
    other = Client(other_server.url)
    pair(api, server, other, other_server.url)
    before = receipts_in(other_app)
    f = open_file(api, subject="Posting of Tehsildars", head="11012")
    assert api.post(f"/files/{f['id']}/notes", "clerk",
                    json={"text": "Proposal for the secretariat's approval."}).status_code \
        in (200, 201)
    # the partner is down: the package waits and is retried
    other_server.stop()
    r = api.post(f"/files/{f['id']}/send-to-partner", "clerk",
                 json={"partner": "secretariat", "post": "GAD-EST-SO", "remark": "for orders"})
    assert r.status_code == 202, r.text
    assert demo.deliver_exchange() == 0
    [row] = api.get("/exchange/outbox", "clerk").json()
    assert row["status"] == "pending"
    assert "not reachable" in row["last_error"]
    # up again: delivered once
    other_server.start()
    from engine.store.exchange_models import ExchangeOut
    with demo.db.transaction() as s:  # the retry is due now (not after its pause)
        for out in s.scalars(select(ExchangeOut)):
            out.next_attempt_at = out.created_at
    assert demo.deliver_exchange() == 1
    assert demo.deliver_exchange() == 0
    [row] = api.get("/exchange/outbox", "clerk").json()
    assert row["status"] == "sent"
    assert row["attempts"] == 2
    assert receipts_in(other_app) == before + 1
    received = [other.get(f"/receipts/{t['receipt_id']}", "so").json()
                for t in inbox(other, "so") if t["kind"] == "receipt"]
    [receipt] = [r for r in received if r["subject"] == "Posting of Tehsildars"]
    assert receipt["sender"] == "collectorate (verified)"
    assert receipt["letter_ref"] == f["file_no"]
    assert "received from collectorate, verified" in receipt["remark"]
    package = other.get(f"/receipts/{receipt['id']}/package", "so")
    assert package.status_code == 200
    assert json.loads(zipfile.ZipFile(io.BytesIO(package.content)).read("file.json"))[
        "file"]["file_no"] == f["file_no"]

    # the secretariat answers: its file holding the received receipt goes back, and is
    # put up in the collectorate's original file
    r = other.post("/files", "so", json={"subject": "Posting of Tehsildars: orders",
                                          "head": "11012", "receipt_id": receipt["id"]})
    assert r.status_code == 201, r.text
    reply = r.json()
    r = other.post(f"/files/{reply['id']}/send-to-partner", "so",
                   json={"partner": "collectorate", "post": "GAD-SECY"})
    assert r.status_code == 202, r.text
    assert other_app.deliver_exchange() == 1
    original = api.get(f"/files/{f['id']}", "clerk").json()
    answers = [c for c in original["correspondence"] if c["sender"] == "secretariat (verified)"]
    assert len(answers) == 1
    assert answers[0]["subject"] == "Posting of Tehsildars: orders"


def test_forged_altered_and_replayed_packages_are_refused(demo, api, server, secretariat,
                                                          tmp_path):
    other_app, other_server = secretariat
    other = Client(other_server.url)
    pair(api, server, other, other_server.url)
    f = open_file(api, subject="Court case of Shri Ram", head="1301")
    api.post(f"/files/{f['id']}/send-to-partner", "clerk",
             json={"partner": "secretariat", "post": "GAD-EST-SO"})
    from engine.domain import uploads
    from engine.store.exchange_models import ExchangeOut
    with demo.db.reader() as s:
        out = s.scalar(select(ExchangeOut))
    package = uploads.read_bytes(demo.settings.data_dir, out.package_sha256)
    inbox = f"{other_server.url}/api/v1/exchange/inbox"

    def post(envelope: str, signature: str, data: bytes) -> requests.Response:
        return requests.post(inbox, data={"envelope": envelope, "signature": signature},
                             files={"package": ("p.zip", data, "application/zip")}, timeout=30)

    before = receipts_in(other_app)
    # altered: one note changed inside the zip (manifest rebuilt too), same envelope
    altered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(altered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "file.json":
                data = data.replace(b"Court case", b"Court kase")
            dst.writestr(name, data)
    r = post(out.envelope, out.signature, altered.getvalue())
    assert r.status_code == 422
    assert "altered" in r.json()["error"]["message"]
    # altered and re-signed by someone without the collectorate's key: forged
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    env = json.loads(out.envelope)
    forged = dict(env, package_sha256=__import__("hashlib").sha256(
        altered.getvalue()).hexdigest())
    r = post(envelopes.canonical(forged).decode(),
             envelopes.sign(Ed25519PrivateKey.generate(), forged), altered.getvalue())
    assert r.status_code == 403
    assert "forged" in r.json()["error"]["message"]
    # an envelope changed after signing (another post): forged/altered too
    moved = dict(env, to_post="GAD-SECY")
    r = post(envelopes.canonical(moved).decode(), out.signature, package)
    assert r.status_code == 403
    assert receipts_in(other_app) == before
    # the genuine package is taken once; sent again it is a replay
    assert post(out.envelope, out.signature, package).status_code == 201
    r = post(out.envelope, out.signature, package)
    assert r.status_code == 409
    assert "replay" in r.json()["error"]["message"]
    assert receipts_in(other_app) == before + 1
    # the outbox takes that 409 as "already delivered"
    assert demo.deliver_exchange() == 1
    assert api.get("/exchange/outbox", "admin").json()[0]["status"] == "sent"


def test_partner_registration_is_for_administrators_and_checks_the_key(api):
    body = {"name": "district", "url": "http://127.0.0.1:9", "public_key": "not a key"}
    assert api.post("/exchange/partners", "clerk", json=body).status_code == 403
    r = api.post("/exchange/partners", "admin", json=body)
    assert r.status_code == 422
    assert "public_key" in r.text
    r = api.post("/exchange/partners", "admin", json={**body, "url": "ftp://x"})
    assert r.status_code == 422


def test_pages_register_a_partner_and_send_a_file_in_hindi(demo, api, server, secretariat):
    import re

    from tests.integration.test_email_dak import _signed_in

    _app, other_server = secretariat
    ident = requests.get(f"{other_server.url}/api/v1/exchange/identity", timeout=10).json()
    ours = requests.get(f"{server}/api/v1/exchange/identity", timeout=10).json()
    r = Client(other_server.url).post("/exchange/partners", "admin", json={
        "name": ours["name"], "url": server, "public_key": ours["public_key"]})
    assert r.status_code == 201, r.text
    admin = _signed_in(server, "admin", "hi")
    page = admin.get(f"{server}/exchange", timeout=10).text
    assert "साझेदार पंजीकृत करें" in page
    assert "BEGIN PUBLIC KEY" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = admin.post(f"{server}/exchange/partners", timeout=10, data={
        "csrf_token": token, "name": ident["name"], "url": other_server.url,
        "public_key": ident["public_key"]})
    assert r.status_code == 200
    assert "secretariat" in r.text
    f = open_file(api, subject="Land records digitisation", head="11014")
    clerk = _signed_in(server, "clerk", "hi")
    page = clerk.get(f"{server}/exchange", timeout=10).text
    assert "किसी अन्य संस्थापन को फ़ाइल भेजें" in page
    assert f["file_no"] in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = clerk.post(f"{server}/exchange/send", timeout=10, data={
        "csrf_token": token, "file_id": str(f["id"]), "partner": "secretariat",
        "post": "GAD-EST-SO", "remark": ""})
    assert r.status_code == 200
    assert "पहुँचने की प्रतीक्षा में" in r.text
    assert demo.deliver_exchange() == 1
    assert "पहुँचा दिया गया" in clerk.get(f"{server}/exchange", timeout=10).text
