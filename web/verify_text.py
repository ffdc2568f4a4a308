"""The problems that verification and a migration's dry run report, in the reader's
language.

The engine's checks (engine/audit/verify.py, checkpoints.py, signing.py, passkeys.py,
history.py) and the migration plan (engine/bpm/migrate.py) write each problem as one
English line, which `sanchika verify` prints as is and the export check returns. On the
verification and migration pages the fixed parts of those lines are translated here,
phrase by phrase, keeping what varies (file numbers, event numbers, user
names, hashes, times) as it was: a problem is evidence, so nothing of it is dropped, and a
line no pattern knows is shown untranslated rather than hidden.

tests/integration/test_hindi_audit_screens.py checks them against the lines the engine
writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import get_locale
from flask_babel import gettext as _

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

# Whole phrases first (they contain the small words that the later rules translate).
_PHRASES: list[tuple[str, Callable[[re.Match[str]], str]]] = [
    (r"its subject, notes or correspondence differ from what (?P<where>.+?) recorded when "
     r"the file was locked",
     lambda m: _("its subject, notes or correspondence differ from what %(where)s recorded "
                 "when the file was locked", where=problem_text(m["where"]))),
    (r"the file's notes or correspondence differ from what was approved",
     lambda m: _("the file's notes or correspondence differ from what was approved")),
    (r"the file's notes or correspondence differ from what was signed",
     lambda m: _("the file's notes or correspondence differ from what was signed")),
    (r"the draft differs from what was approved",
     lambda m: _("the draft differs from what was approved")),
    (r"re-executing its process \(version (?P<v>\d+)\) with the recorded inputs does not "
     r"give the stored state: ",
     lambda m: _("re-running its process (version %(v)s) with the recorded inputs does not "
                 "give the stored state: ", v=m["v"])),
    (r"\((?P<kind>[a-z_]+)\) was altered",
     lambda m: _("(%(kind)s) was altered", kind=kind_label(m["kind"]))),
    (r" missing or out of order", lambda m: _(" missing or out of order")),
    (r"the instance records (?P<n>\d+) events, its history ends at (?P<e>#\d+)",
     lambda m: _("the instance records %(n)s events, its history ends at %(e)s",
                 n=m["n"], e=m["e"])),
    (r"the instance records (?P<n>\d+) events, its history goes to (?P<e>#\d+)",
     lambda m: _("the instance records %(n)s events, its history goes to %(e)s",
                 n=m["n"], e=m["e"])),
    (r" not counted:", lambda m: _(" not counted:")),
    (r" missing:", lambda m: _(" missing:")),
    (r"does not match the instance's last event hash",
     lambda m: _("does not match the instance's last event hash")),
    (r"but no longer exists", lambda m: _("but no longer exists")),
    (r"but is no longer locked", lambda m: _("but is no longer locked")),
    (r"locked, but (?P<i>instance \S+) has no (?P<h>\w+) event",
     lambda m: _("locked, but %(i)s has no %(h)s event", i=problem_text(m["i"]), h=m["h"])),
    (r"records no content hash; its notes and correspondence cannot be verified",
     lambda m: _("records no content hash; its notes and correspondence cannot be "
                 "verified")),
    (r"the signature does not verify \(forged or altered\)",
     lambda m: _("the signature does not verify (forged or altered)")),
    (r"the signature is not recorded in the file's history",
     lambda m: _("the signature is not recorded in the file's history")),
    (r"the approval is not recorded in the file's history",
     lambda m: _("the approval is not recorded in the file's history")),
    (r"signed with a key that belongs to another user",
     lambda m: _("signed with a key that belongs to another user")),
    (r"signed with a passkey registered to another user",
     lambda m: _("signed with a passkey registered to another user")),
    (r"its public key is not the one registered for that passkey",
     lambda m: _("its public key is not the one registered for that passkey")),
    (r"its passkey is not on record", lambda m: _("its passkey is not on record")),
    (r"made with a passkey revoked at (?P<t>\S+)",
     lambda m: _("made with a passkey revoked at %(t)s", t=m["t"])),
    (r"the signed challenge is not the one for this approval",
     lambda m: _("the signed challenge is not the one for this approval")),
    (r"the authenticator did not see the user present",
     lambda m: _("the authenticator did not see the user present")),
    (r"the authenticator did not verify the user \(PIN or biometric\)",
     lambda m: _("the authenticator did not verify the user (PIN or biometric)")),
    (r"the stored public key is unreadable", lambda m: _("the stored public key is unreadable")),
    (r"does not follow the checkpoint before it",
     lambda m: _("does not follow the checkpoint before it")),
    (r"its recorded chain heads were altered",
     lambda m: _("its recorded chain heads were altered")),
    (r"altered \(its hash does not match its contents\)",
     lambda m: _("altered (its hash does not match its contents)")),
    (r"its MAC does not match: written without the audit key",
     lambda m: _("its MAC does not match: written without the audit key")),
    (r"the instance no longer exists", lambda m: _("the instance no longer exists")),
    (r"it is no longer in the history \(deleted\)",
     lambda m: _("it is no longer in the history (deleted)")),
    (r"is not the one (?P<cp>checkpoint #\d+) recorded \(the chain was rewritten\)",
     lambda m: _("is not the one %(cp)s recorded (the chain was rewritten)",
                 cp=problem_text(m["cp"]))),
    (r"(?P<cp>checkpoint #\d+) recorded (?P<n>\d+) events;",
     lambda m: _("%(cp)s recorded %(n)s events;", cp=problem_text(m["cp"]), n=m["n"])),
    (r"(?P<cp>checkpoint #\d+) recorded (?P<e>event #\d+);",
     lambda m: _("%(cp)s recorded %(e)s;", cp=problem_text(m["cp"]),
                 e=problem_text(m["e"]))),
    (r"passkey approval: ", lambda m: _("passkey approval: ")),
    (r"draft (?P<d>\d+) of file (?P<f>\S+)",
     lambda m: _("draft %(d)s of file %(f)s", d=m["d"], f=m["f"])),
    (r": (?P<action>approve|reject|forward|submit|close) by (?P<u>\S+) at "
     r"(?P<t>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(?P<z>\+00:00)?",
     lambda m: _(": %(action)s by %(u)s at %(t)s", action=_action(m["action"]), u=m["u"],
                 t=m["t"].replace("T", " ") + (" UTC" if m["z"] else ""))),
    (r"\((?P<kind>[a-z]+_[a-z_]+)\)", lambda m: f"({kind_label(m['kind'])})"),
    (r"'(?P<a>[^']+)' has no step '(?P<b>[^']+)' in the target version",
     lambda m: _("the target version has no step “%(b)s” for “%(a)s”", a=m["a"], b=m["b"])),
    (r"'(?P<a>[^']+)' is a (?P<k>\w+) step, but '(?P<b>[^']+)' in the target version is a "
     r"different kind of step",
     lambda m: _("“%(a)s” is a step of one kind (%(k)s), but “%(b)s” in the target version "
                 "is of another", a=m["a"], k=m["k"], b=m["b"])),
    (r"'(?P<a>[^']+)' waits for other branches to join; a join in progress cannot be moved",
     lambda m: _("“%(a)s” waits for other branches to join; a join in progress cannot be "
                 "moved", a=m["a"])),
    (r"'(?P<a>[^']+)' is in the middle of running",
     lambda m: _("“%(a)s” is in the middle of running", a=m["a"])),
    # the names of what was checked, last: they occur inside the phrases above
    (r"\bcheckpoint #(?P<n>\d+)", lambda m: _("checkpoint #%(n)s", n=m["n"])),
    (r"\binstance (?P<n>\d+)", lambda m: _("instance %(n)s", n=m["n"])),
    (r"\bevent #(?P<n>\d+)", lambda m: _("event #%(n)s", n=m["n"])),
    (r"\bfile (?P<f>[A-Z][^\s:,)]*)", lambda m: _("file %(f)s", f=m["f"])),
    (r"\breceipt (?P<r>[A-Z][^\s:,)]*)", lambda m: _("receipt %(r)s", r=m["r"])),
]
_RULES: list[Rule] = [(re.compile(p), f) for p, f in _PHRASES]


def kind_label(kind: str) -> str:
    """The kinds of history event, as a reader names them; an unknown kind as written."""
    return {
        "instance_started": _("process started"), "task_ready": _("step reached"),
        "task_completed": _("step completed"), "task_withdrawn": _("step withdrawn"),
        "handler_called": _("automatic step"), "timer_set": _("time limit set"),
        "timer_fired": _("time limit passed"), "timer_cancelled": _("time limit ended"),
        "instance_completed": _("process ended"), "approval_signed": _("approval signed"),
        "note_added": _("note added"), "correspondence_added": _("correspondence added"),
        "instance_migrated": _("moved to another version"),
    }.get(kind, kind)


def _action(action: str) -> str:
    return {"approve": _("approval"), "reject": _("rejection")}.get(action, action)


def problem_text(line: str) -> str:
    """One problem line with its known fixed parts in the reader's language. Each rule
    runs once over the text as the engine wrote it, on the parts no earlier rule
    translated, so a translation is never translated again."""
    if str(get_locale() or "en") == "en":
        return line  # word for word what `sanchika verify` prints, to compare with it
    parts: list[tuple[str, bool]] = [(line, False)]  # (text, already translated)
    for pattern, render in _RULES:
        out: list[tuple[str, bool]] = []
        for text, done in parts:
            if done:
                out.append((text, done))
                continue
            last = 0
            for m in pattern.finditer(text):
                out.append((text[last:m.start()], False))
                out.append((render(m), True))
                last = m.end()
            out.append((text[last:], False))
        parts = [p for p in out if p[0]]
    return "".join(text for text, _done in parts)
