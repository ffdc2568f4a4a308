"""Browser tests: Playwright for Python driving the system Chromium, headless, against
the real server (the `server` fixture). Never downloads a browser.

The browser is Debian's chromium-headless-shell when it is installed, else its chromium;
SANCHIKA_CHROMIUM names another. Skipped only when neither is there and CI is not 'true';
in CI a missing Chromium fails."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FULL_CHROMIUM = "/usr/bin/chromium"
# The old headless shell: the same Chromium build without the browser's UI layers and
# extensions. It is what Playwright itself runs headless, and here it spends about a third
# of full Chromium's CPU per page. It has no PDF viewer, so a letter's preview frame stays
# empty; the tests check that frame and the bytes it serves, not the viewer's drawing.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"


def chromium() -> str:
    if os.environ.get("SANCHIKA_CHROMIUM"):
        return os.environ["SANCHIKA_CHROMIUM"]
    # pictures for the docs are taken in full Chromium, so they show the PDF preview as
    # people see it
    if os.environ.get("SANCHIKA_SCREENSHOTS", "") in ("", "0") and Path(HEADLESS_SHELL).exists():
        return HEADLESS_SHELL
    return FULL_CHROMIUM


CHROMIUM = chromium()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required in CI and is not at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium-headless-shell chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # One renderer process for every page: on a small machine, starting a process per
        # navigation (and one more for each PDF preview) costs more than the pages do.
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--renderer-process-limit=1"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server: str) -> Iterator:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server,
                                  locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"
