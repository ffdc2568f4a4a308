"""The screens of the auditor's room, the designer's versions, passkeys and the sign-in
unlock, read in Hindi: no English left on them but the office's own data (names,
subjects, file numbers, notes) and code (process ids, step ids); the problems that
verification and a migration's dry run report are worded in Hindi with the engine's
facts (file number, event number) kept; the English page still says word for word what
`sanchika verify` prints."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine.store.models import (
    File,
    HistoryEvent,
    Note,
    Post,
    Receipt,
    Section,
    User,
)
from tests.conftest import PASSWORD
from tests.integration.test_audit_room import client_for, closed_file
from tests.tamper import tamper

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
# allowed in a Hindi page: the brand, the language switch, formats, the licence, and the
# name of the command-line check (a command is typed as it is)
ALLOWED = r"\b(Sanchika|English|PDF|CSV|UTC|GAD|EST|GNU AGPL|HTTPS|sanchika verify|MAC)\b"
# the English words these screens showed before they were translated
ONCE_ENGLISH = ["file_approval", "differ from what", "was altered", "Process data",
                "has no step", "in the target version", "init", "action", "creator_post",
                "holder_post", "True", "P7D", "instance", "event #"]


@pytest.fixture
def web(settings, demo):
    from web.app import create_app

    return create_app(settings, demo)


def data_words(demo) -> list[str]:
    """What the office wrote or named: a Hindi page may show it as it was written."""
    with demo.db.reader() as s:
        words = [*s.scalars(select(User.full_name)), *s.scalars(select(User.username)),
                 *s.scalars(select(User.email)), *s.scalars(select(Post.title)),
                 *s.scalars(select(Post.code)), *s.scalars(select(File.subject)),
                 *s.scalars(select(File.file_no)), *s.scalars(select(Receipt.subject)),
                 *s.scalars(select(Receipt.diary_no)), *s.scalars(select(Section.name)),
                 *s.scalars(select(Note.text))]
    words += ["Approved.", "Approved as proposed.", "Please approve.", "Not granted."]
    return sorted({w for w in words if w}, key=len, reverse=True)


def english_left(page_html: str, data: list[str]) -> list[str]:
    """English words in what the page shows (code, times and hidden parts left out)."""
    body = page_html.split("<main", 1)[-1].split(">", 1)[-1].split("</main>", 1)[0]
    body = re.sub(r"<(script|style|code|time|textarea)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r'<div hidden id="passkey-messages".*?</div>', " ", body, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", body))
    for word in data:
        text = text.replace(word, " ")
    text = re.sub(ALLOWED, " ", text)
    return [text[max(0, m.start() - 30):m.end() + 30].replace("\n", " ")
            for m in re.finditer(r"[A-Za-z]{2,}", text)]


def page(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:500])
    return r.get_data(as_text=True)


def test_auditor_room_in_hindi_has_no_english(web, demo, users):
    f = closed_file(demo, users, "Grant of leave encashment")
    data = data_words(demo)
    client = client_for(web, "auditor", "hi")
    for url in (f"/files/{f['id']}", f"/files/{f['id']}/history",
                f"/files/{f['id']}/replay", f"/files/{f['id']}/verify",
                "/audit/verify", "/audit/verify?run=1"):
        text = page(client, url)
        assert english_left(text, data) == [], url
    replay = html.unescape(page(client, f"/files/{f['id']}/replay"))
    assert "प्रक्रिया डेटा" in replay
    assert "अंतिम कार्रवाई" in replay
    assert "P7D" not in replay
    assert ">True<" not in replay
    assert "7 दिन" in replay
    assert "सर्वर द्वारा हस्ताक्षरित" in replay  # how the approval was signed
    assert "Kavita Singh · " in replay  # the signer and the notes' author by name
    assert "— Ramesh Kumar" in replay
    assert "फ़ाइल अनुमोदन" in html.unescape(page(client, f"/files/{f['id']}/history"))


def test_verification_problems_are_worded_in_hindi(web, demo, users):
    f = closed_file(demo, users, "Grant of leave encashment")
    other = closed_file(demo, users, "Pay fixation")
    tamper(demo, "UPDATE notes SET text = 'Not granted.' WHERE file_id = :f", ("notes",),
           f=f["id"])
    with demo.db.reader() as s:
        instance_id = s.scalar(select(File.instance_id).where(File.id == other["id"]))
        seq = s.scalar(select(HistoryEvent.seq).where(
            HistoryEvent.instance_id == instance_id,
            HistoryEvent.kind == "task_completed").order_by(HistoryEvent.seq))
    tamper(demo, "UPDATE history_events SET actor = 'so' WHERE instance_id = :i AND seq = :s",
           ("history_events",), i=instance_id, s=seq)
    data = data_words(demo)

    hindi = client_for(web, "auditor", "hi")
    text = html.unescape(page(hindi, f"/files/{f['id']}/verify"))
    assert 'data-intact="no"' in text
    assert "इसका विषय, टिप्पणियाँ या पत्राचार उससे भिन्न हैं" in text
    assert f"फ़ाइल {f['file_no']}" in text  # the facts are kept
    assert english_left(text, data) == []
    everything = html.unescape(page(hindi, "/audit/verify?run=1"))
    assert f"प्रक्रिया उदाहरण {instance_id}" in everything
    assert f"घटना #{seq} (चरण पूर्ण) में बदलाव किया गया" in everything
    assert english_left(everything, data) == []

    english = client_for(web, "auditor", "en")
    text = html.unescape(page(english, "/audit/verify?run=1"))
    assert f"event #{seq} (task_completed) was altered" in text  # as the CLI prints it
    assert "its subject, notes or correspondence differ from what" in text


def test_designer_versions_and_migration_in_hindi(web, demo, users):
    xml = (PROCESSES / "file_approval.bpmn").read_bytes()
    demo.deploy(xml.replace(b'name="Noting"', b'name="Noting v2"'), None)
    f = demo.open_file(users["clerk"], "Running file", "11011")
    demo.add_note(users["clerk"], f["id"], "Proposal.")
    data = [*data_words(demo), "“noting”", "“nowhere”", "“noting"]  # the diagram's step ids
    client = client_for(web, "designer", "hi")
    listing = page(client, "/designer")
    assert english_left(listing, data) == []
    assert "फ़ाइल अनुमोदन" in html.unescape(listing)
    assert ">init<" not in listing  # the shipped versions were deployed by the installation

    modeler = page(client, "/designer/file_approval/2")
    assert 'href="/designer#process-file_approval" id="versions-link"' in modeler
    assert 'id="process-file_approval"' in listing

    plan = page(client, "/designer/file_approval/migrate?from=1&to=2&mapping=noting+%3D+nowhere")
    assert english_left(plan, data) == []
    assert "लक्ष्य संस्करण में “noting” के लिए कोई चरण “nowhere” नहीं है" in html.unescape(plan)
    same = page(client, "/designer/file_approval/migrate?from=2&to=2")
    assert "दो अलग संस्करण चुनें" in html.unescape(same)
    wrong = page(client, "/designer/file_approval/migrate?from=1&to=2&mapping=noting")
    assert "हर पंक्ति को पुराना चरण = नया चरण के रूप में लिखें" in html.unescape(wrong)
    assert english_left(wrong, data) == []


def test_settings_passkeys_and_unlock_in_hindi(web, demo, users):
    data = data_words(demo)
    client = client_for(web, "ds", "hi")
    assert english_left(page(client, "/settings"), data) == []
    anonymous = web.test_client()
    with anonymous.session_transaction() as sess:
        sess["lang"] = "hi"
    unlock = page(anonymous, "/login/unlock")
    assert english_left(unlock, data) == []
    assert "1. कोड मँगवाएँ" in html.unescape(unlock)
    assert "यूज़रनेम" not in unlock  # one word for the username, as on the sign-in page
    # the passkey endpoints answer in the page's language, not with the engine's field names
    r = client.post("/settings/passkeys", data="not json",
                    headers={"X-CSRFToken": csrf(client)}, content_type="text/plain")
    assert r.status_code == 422
    assert r.get_json()["error"]["message"] == "ब्राउज़र ने कोई पासकी नहीं भेजी। फिर से प्रयास करें।"


def csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"',
                     client.get("/settings").get_data(as_text=True)).group(1)


def test_english_words_once_left_are_gone_from_the_hindi_replay(web, demo, users):
    f = closed_file(demo, users, "Grant of leave encashment")
    client = client_for(web, "auditor", "hi")
    text = page(client, f"/files/{f['id']}/replay")
    shown = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(
        r"<(script|style|code|time)\b.*?</\1>", " ", text.split("<main", 1)[-1], flags=re.S)))
    left = [w for w in ONCE_ENGLISH if re.search(rf"(?<![\w#]){re.escape(w)}(?!\w)", shown)]
    assert left == []


def test_a_mistyped_event_number_returns_to_the_replay_saying_why(web, demo, users):
    f = closed_file(demo, users, "Grant of leave encashment")
    client = client_for(web, "auditor", "hi")
    for bad, said in (("999", "घटना 999 नहीं है: इस प्रक्रिया में घटनाएँ 1 से"),
                      ("abc", "घटना संख्या एक पूर्ण संख्या होनी चाहिए।")):
        r = client.get(f"/files/{f['id']}/replay?at={bad}")
        assert r.status_code == 302, bad
        assert r.headers["Location"].endswith(f"/files/{f['id']}/replay")
        shown = html.unescape(page(client, r.headers["Location"]))
        assert said in shown
    r = client.get(f"/files/{f['id']}/replay?instance=9999")
    assert r.status_code == 302
    assert "ऐसी किसी प्रक्रिया से नहीं गुज़री" in html.unescape(
        page(client, r.headers["Location"]))


def test_a_locked_sign_in_says_until_when_in_hindi(web, demo):
    from engine.store.web_models import SignInThrottle

    client = web.test_client()
    with client.session_transaction() as sess:
        sess["lang"] = "hi"

    def attempt(password: str):
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/login").get_data(as_text=True)).group(1)
        return client.post("/login", data={"username": "so", "password": password,
                                           "csrf_token": token})

    for _ in range(5):
        with demo.db.transaction() as s:  # each delay run out at once
            s.execute(update(SignInThrottle).values(locked_until=None))
        attempt("not-the-password")
    r = attempt(PASSWORD)
    assert r.status_code == 429
    shown = html.unescape(r.get_data(as_text=True))
    assert re.search(r"आपके पते से इस नाम से प्रवेश \d\d:\d\d:\d\d UTC तक रोका गया है।", shown)
    assert "try again" not in shown
    assert english_left(shown, data_words(demo)) == []


def test_a_screen_not_open_to_the_user_says_so_in_hindi(web, demo):
    client = client_for(web, "clerk", "hi")
    for url in ("/audit/verify?run=1", "/designer"):
        r = client.get(url)
        assert r.status_code == 403
        assert "यह पृष्ठ या कार्रवाई आपकी भूमिका या पद के लिए खुली नहीं है।" in html.unescape(
            r.get_data(as_text=True))
    r = client_for(web, "auditor", "hi").get("/files/999999/history")
    assert r.status_code == 404
    assert "जो आपने माँगा वह मौजूद नहीं है" in html.unescape(r.get_data(as_text=True))
