"""The message catalogue: every notification text, in English and Hindi.

Each recipient gets the text in their own `language` ('en' or 'hi'); anything else falls
back to English. Placeholders are filled with str.format; action names are translated
too."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("en", "hi")

# key -> language -> (subject, body)
CATALOGUE: dict[str, dict[str, tuple[str, str]]] = {
    "backup_failed": {
        "en": ("Backup failing",
               "The scheduled backup to {destination} is failing: {error}. "
               "Run `sanchika doctor` on the server."),
        "hi": ("बैकअप विफल",
               "{destination} में निर्धारित बैकअप विफल हो रहा है: {error}। "
               "सर्वर पर `sanchika doctor` चलाएँ।"),
    },
    "outbox_backlog": {
        "en": ("Messages not being delivered",
               "{count} e-mail/SMS messages are waiting to be delivered. Check the mail and "
               "SMS settings and the server log."),
        "hi": ("संदेश नहीं भेजे जा रहे",
               "{count} ई-मेल/एसएमएस संदेश भेजे जाने की प्रतीक्षा में हैं। मेल और एसएमएस "
               "सेटिंग्स तथा सर्वर लॉग देखें।"),
    },
    "received": {
        "en": ("{label} received",
               "{label} ({subject}) was sent to you by {by} ({action})."),
        "hi": ("{label} प्राप्त हुई",
               "{label} ({subject}) {by} द्वारा आपको भेजी गई ({action})।"),
    },
    "pulled_back": {
        "en": ("URGENT: {label} pulled back",
               "URGENT: {label} ({subject}) has been pulled back by {by}; "
               "it is no longer in your inbox."),
        "hi": ("तत्काल: {label} वापस ली गई",
               "तत्काल: {label} ({subject}) {by} द्वारा वापस ले ली गई है; "
               "अब यह आपके इनबॉक्स में नहीं है।"),
    },
    "due_soon": {
        "en": ("{label} due soon",
               "{label} ({subject}) at {step} is due by {due}. Please act on it in time."),
        "hi": ("{label} की समय-सीमा निकट",
               "{label} ({subject}) पर {step} की समय-सीमा {due} है। "
               "कृपया समय पर कार्रवाई करें।"),
    },
    "breached": {
        "en": ("Time limit passed: {label}",
               "The time limit for {label} at post {post} has passed."),
        "hi": ("समय-सीमा समाप्त: {label}",
               "पद {post} पर {label} की समय-सीमा समाप्त हो गई है।"),
    },
    "approved": {
        "en": ("{label} approved", "File {label} ({subject}) was approved by {by}."),
        "hi": ("{label} अनुमोदित", "फ़ाइल {label} ({subject}) {by} द्वारा अनुमोदित की गई।"),
    },
    "rejected": {
        "en": ("{label} rejected", "File {label} ({subject}) was rejected by {by}."),
        "hi": ("{label} अस्वीकृत", "फ़ाइल {label} ({subject}) {by} द्वारा अस्वीकृत की गई।"),
    },
    "copy_received": {
        "en": ("{label} received (copy)",
               "A copy of {original} ({subject}) was sent to you by {by}."),
        "hi": ("{label} प्राप्त हुई (प्रति)",
               "{original} ({subject}) की एक प्रति {by} द्वारा आपको भेजी गई।"),
    },
    "pulled_back_sender": {
        "en": ("{label} pulled back",
               "File {label} ({subject}) was pulled back from {recipient} by {by}; "
               "it is with {sender} again."),
        "hi": ("{label} वापस ली गई",
               "फ़ाइल {label} ({subject}) {by} द्वारा {recipient} से वापस ले ली गई; "
               "अब यह फिर {sender} के पास है।"),
    },
    "reopen_requested": {
        "en": ("Reopen {label}?", "{by} asks to reopen file {label} ({subject}): {reason}"),
        "hi": ("{label} पुनः खोलें?",
               "{by} ने फ़ाइल {label} ({subject}) पुनः खोलने का अनुरोध किया है: {reason}"),
    },
    "reopened": {
        "en": ("{label} reopened",
               "The request to reopen file {label} ({subject}) was approved by {by}."),
        "hi": ("{label} पुनः खोली गई",
               "फ़ाइल {label} ({subject}) पुनः खोलने का अनुरोध {by} द्वारा स्वीकृत किया गया।"),
    },
    "reopen_refused": {
        "en": ("{label} not reopened",
               "The request to reopen file {label} ({subject}) was refused by {by}."),
        "hi": ("{label} पुनः नहीं खोली गई",
               "फ़ाइल {label} ({subject}) पुनः खोलने का अनुरोध {by} द्वारा अस्वीकार किया गया।"),
    },
}

ACTIONS: dict[str, dict[str, str]] = {
    "hi": {"forward": "अग्रेषित", "submit": "अनुमोदन हेतु प्रस्तुत", "return": "लौटाई गई",
           "put_in_file": "फ़ाइल में रखी गई", "approve": "अनुमोदित", "reject": "अस्वीकृत",
           "close": "बंद", "pullback": "वापस ली गई"},
}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else "en"


def render(key: str, language: str | None, **params: Any) -> tuple[str, str]:
    """(subject, body) of message `key` in `language`; KeyError for an unknown key."""
    lang = language_of(language)
    if "action" in params:
        params["action"] = ACTIONS.get(lang, {}).get(params["action"], params["action"])
    subject, body = CATALOGUE[key][lang]
    return subject.format(**params), body.format(**params)
