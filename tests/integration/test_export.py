"""The verifiable export of one file, checked offline (`sanchika verify --export`, no
database, another working directory), intact and tampered."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from engine.audit.export import check
from tests import cli
from tests.flow import inbox_task
from tests.integration.test_audit_tamper import approved_file
from tests.pdfs import make_pdf

ROOT = Path(__file__).parents[2]


def verify_export_elsewhere(path, tmp_path):
    """On "another machine", as a real process: no database URL, an empty data folder,
    another directory."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "SANCHIKA_DATA_DIR": str(tmp_path / "elsewhere")}
    return subprocess.run([sys.executable, "-m", "web.cli.main", "verify", "--export", str(path)],
                          env=env, capture_output=True, text=True, cwd=tmp_path)


def verify_export(path, tmp_path):
    """The same check in the test process: no database URL, an empty data folder."""
    return cli.run({"SANCHIKA_DATA_DIR": str(tmp_path / "elsewhere")}, "verify", "--export",
                   str(path))


def rewrite(src: Path, dest: Path, change, fix_manifest: bool = True) -> None:
    """Change members of an export; with `fix_manifest` the attacker also recomputes the
    manifest, so only the inner checks can catch it."""
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    if fix_manifest:
        manifest = json.loads(members["manifest.json"])
        manifest["members"] = {n: hashlib.sha256(d).hexdigest()
                               for n, d in members.items() if n != "manifest.json"}
        members["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    dest.write_bytes(out.getvalue())


def edit_json(members, name, fn):
    value = json.loads(members[name])
    fn(value)
    members[name] = json.dumps(value, ensure_ascii=False).encode()


def exported(service, users, tmp_path, with_pdf=False):
    f = approved_file(service, users)
    service.checkpoint()
    if with_pdf:
        rid = service.diarise(users["clerk"], {"sender": "Scanner", "subject": "Scanned"},
                              pdf=make_pdf("Scanned letter"), pdf_name="letter.pdf")["id"]
        f = service.open_file(users["clerk"], "With a PDF", "11012", receipt_id=rid)
        service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                    {"action": "submit", "to": "ds"})
        service.act(users["ds"], inbox_task(service, users["ds"], file_id=f["id"])["id"],
                    {"action": "approve"})
        service.checkpoint()
    _, data = service.export_file(users["auditor"], f["id"])
    path = tmp_path / "export.zip"
    path.write_bytes(data)
    return f, path


def test_export_is_complete_and_verifies_offline(service, users, tmp_path):
    f, path = exported(service, users, tmp_path, with_pdf=True)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        file_json = json.loads(z.read("file.json"))
        chain = json.loads(z.read("history.json"))
        sigs = json.loads(z.read("signatures.json"))
        proof = json.loads(z.read("checkpoint.json"))
    assert {"manifest.json", "file.json", "history.json", "signatures.json",
            "checkpoint.json"} <= names
    assert any(n.startswith("public_keys/") for n in names)
    assert any(n.startswith("documents/") and n.endswith(".pdf") for n in names)
    assert file_json["file"]["file_no"] == f["file_no"]
    assert file_json["documents_missing"] == []
    assert [e["seq"] for e in chain] == list(range(1, len(chain) + 1))
    assert [s["username"] for s in sigs] == ["ds"]
    assert [p["instance_head"][0] for p in proof] == [f["instance_id"]]
    assert check(path)[1] == []
    run = verify_export_elsewhere(path, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith(f"verified: the export of file {f['file_no']} is intact")
    # a PDF swapped for another inside the export (manifest recomputed) is named
    swapped = tmp_path / "swapped.zip"
    rewrite(path, swapped, lambda m: m.update({n: make_pdf("Forged") for n in m
                                               if n.startswith("documents/")}))
    assert any(p.startswith("documents/") and "SHA-256 is not its name" in p
               for p in check(swapped)[1])
    # ...and one simply left out is missing, unless the server declared it missing
    dropped = tmp_path / "dropped.zip"
    rewrite(path, dropped, lambda m: [m.pop(n) for n in list(m) if n.startswith("documents/")])
    assert any("is not included" in p for p in check(dropped)[1])


def test_tampered_exports_fail(service, users, tmp_path):
    _, path = exported(service, users, tmp_path)

    def note(members):
        edit_json(members, "file.json", lambda v: v["content"]["notes"][-1].update(
            text="Rejected."))

    def recompute_hash_too(members):
        def fn(v):
            v["content"]["notes"][-1]["text"] = "Rejected."
            v["content_hash"] = hashlib.sha256(json.dumps(
                v["content"], sort_keys=True, separators=(",", ":"),
                ensure_ascii=False).encode()).hexdigest()
        edit_json(members, "file.json", fn)

    def event(members):
        edit_json(members, "history.json", lambda v: v[3]["data"].update(post_id=999))

    def drop_event(members):
        edit_json(members, "history.json", lambda v: v.pop(2))

    def signature(members):
        edit_json(members, "signatures.json", lambda v: v[0].update(
            signed_at="2020-01-01T00:00:00.000000+00:00"))

    def checkpoint(members):
        edit_json(members, "checkpoint.json",
                  lambda v: v[0]["heads"].append([999, 1, "0" * 64]))

    cases = {
        "note": (note, "content does not give its content hash"),
        "note and hash": (recompute_hash_too, "differ from what ds signed"),
        "event": (event, "event #4"),
        "deleted event": (drop_event, "event #3 missing or out of order"),
        "signature": (signature, "signature does not verify"),
        "checkpoint": (checkpoint, "the heads do not give its root"),
    }
    for name, (change, expected) in cases.items():
        bad = tmp_path / f"bad-{name.replace(' ', '-')}.zip"
        rewrite(path, bad, change)
        _, found = check(bad)
        assert any(expected in p for p in found), (name, found)
    # the CLI on another machine: exit 1, naming what is wrong
    bad = tmp_path / "bad-note.zip"
    run = verify_export(bad, tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "content hash" in run.stdout, run.stdout + run.stderr
    # an edit without fixing the manifest is named by the manifest
    unfixed = tmp_path / "unfixed.zip"
    rewrite(path, unfixed, note, fix_manifest=False)
    assert any("file.json: its SHA-256 differs from the manifest" in p
               for p in check(unfixed)[1])
    # a removed public key
    nokey = tmp_path / "nokey.zip"
    rewrite(path, nokey, lambda m: [m.pop(n) for n in list(m) if n.startswith("public_keys/")])
    assert any("public key" in p and "not included" in p for p in check(nokey)[1])
    run = verify_export(tmp_path / "missing.zip", tmp_path)
    assert run.returncode == 1


def test_cli_export_and_keys(settings, service, users, tmp_path):
    f = approved_file(service, users)

    def sanchika(*args):
        return cli.run(settings, *args)

    dest = tmp_path / "cli.zip"
    run = sanchika("export", f["file_no"], str(dest))
    assert run.returncode == 0, run.stderr
    assert check(dest)[1] == []
    run = sanchika("checkpoint")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("checkpoint #1 at "), run.stderr
    keys = tmp_path / "keys"
    run = sanchika("keys", "export", str(keys))
    assert run.returncode == 0, run.stderr
    index = json.loads((keys / "keys.json").read_text())
    assert "ds" in {k["username"] for k in index}
    ds_key = next(k for k in index if k["username"] == "ds")
    with zipfile.ZipFile(dest) as z:
        assert z.read(f"public_keys/{ds_key['key_id']}.pem").decode() == \
            (keys / ds_key["file"]).read_text()
    run = sanchika("verify")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 checkpoints" in run.stdout, run.stdout + run.stderr
