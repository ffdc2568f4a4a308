"""The OCR program: Tesseract 4/5 run as a command (`tesseract stdin stdout -l hin+eng`),
so no binding has to match its version. Optional at run time: `status()` says whether it
and both languages are there, and why not."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from PIL import Image

LANGUAGES = ("hin", "eng")
PAGE_TIMEOUT = 300  # seconds for one page, even on a loaded machine
_CHECK_EVERY = 60.0
_cache: tuple[float, Status] | None = None


class OcrUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Status:
    available: bool
    version: str | None
    languages: tuple[str, ...]
    message: str


def _program() -> str | None:
    return os.environ.get("SANCHIKA_TESSERACT") or shutil.which("tesseract")


def _check() -> Status:
    program = _program()
    if not program or not os.path.exists(program):
        return Status(False, None, (), "Tesseract is not installed: scanned pages are not "
                      "read (install tesseract-ocr, tesseract-ocr-hin, tesseract-ocr-eng)")
    try:
        # the program is the configured Tesseract; arguments are fixed
        version = subprocess.run([program, "--version"], capture_output=True,  # noqa: S603
                                 text=True, timeout=30).stdout.splitlines()[:1]
        langs = subprocess.run([program, "--list-langs"], capture_output=True,  # noqa: S603
                               text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError) as exc:
        return Status(False, None, (), f"Tesseract cannot be run: {exc}")
    have = tuple(lang for lang in LANGUAGES if lang in langs)
    missing = [lang for lang in LANGUAGES if lang not in langs]
    if missing:
        return Status(False, version[0] if version else None, have,
                      "Tesseract lacks the language data " + ", ".join(missing) +
                      " (install tesseract-ocr-" + ", tesseract-ocr-".join(missing) + ")")
    return Status(True, version[0] if version else None, have,
                  "Tesseract reads Hindi and English")


def status(fresh: bool = False) -> Status:
    """Whether OCR can run (checked at most once a minute)."""
    global _cache
    now = time.monotonic()
    if fresh or _cache is None or now - _cache[0] > _CHECK_EVERY:
        _cache = (now, _check())
    return _cache[1]


def recognise(image: Image.Image, dpi: int = 300) -> str:
    """The text on one page image, Hindi and English."""
    program = _program()
    if not program or not status().available:
        raise OcrUnavailable(status().message)
    # Uncompressed (PGM/PPM): PNG's deflate of a noisy 300 dpi page cost about as much CPU
    # as Tesseract's reading of it, and Tesseract reads the same pixels either way.
    pnm = io.BytesIO()
    (image if image.mode in ("1", "L", "RGB") else image.convert("RGB")).save(pnm, "PPM")
    # One thread per page: the machine's cores are shared with the server's requests.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(  # noqa: S603 (the configured Tesseract, fixed arguments)
        [program, "stdin", "stdout", "-l", "+".join(LANGUAGES), "--psm", "3", "--dpi",
         str(dpi)], input=pnm.getvalue(), capture_output=True, timeout=PAGE_TIMEOUT, env=env)
    if done.returncode != 0:
        raise RuntimeError("tesseract failed: " +
                           done.stderr.decode("utf-8", "replace").strip()[-300:])
    return done.stdout.decode("utf-8", "replace").replace("\x0c", "").strip()
