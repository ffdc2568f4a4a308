"""OCR benchmark: how well and how fast Sanchika reads scanned Hindi and English letters.

Known paragraphs are rendered with a Devanagari font (Debian's fonts-noto-core, else the
web UI's copy) at 200-300 dpi, turned by a small skew, speckled with mild noise and saved as
image-only PDFs (no text layer). Each PDF is then read the way the server reads a stored
scan (engine/ocr/pdfpages.py renders the page, engine/ocr/tesseract.py runs Tesseract with
hin+eng), and compared with the text that was rendered:

  CER          character error rate: edit distance / reference length (spaces collapsed)
  word recall  share of the letter's distinct words (3+ letters) found in the OCR output,
               i.e. how many of its words a search would find
  pages/min    pages read per minute on this machine (one Tesseract thread)

    .venv/bin/python bench/ocr.py                 # 300 dpi, every paragraph
    .venv/bin/python bench/ocr.py --dpi 200
    .venv/bin/python bench/ocr.py --tiny          # one short paragraph per language (tests)
    .venv/bin/python bench/ocr.py --clean         # no skew, no noise
    .venv/bin/python bench/ocr.py --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
import unicodedata
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.ocr import pdfpages, tesseract

ROOT = Path(__file__).resolve().parent.parent
FONTS = {
    "hin": [Path("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf"),
            ROOT / "web/node_modules/@fontsource/noto-sans-devanagari/files/"
                   "noto-sans-devanagari-devanagari-400-normal.woff"],
    "eng": [Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
            Path("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf"),
            ROOT / "web/node_modules/@fontsource/noto-sans-devanagari/files/"
                   "noto-sans-devanagari-latin-400-normal.woff"],
}

# Letters written for this benchmark (plain office prose, as a diarist receives it).
LETTERS = {
    "hin": [
        "विषय: जिला कार्यालय में कनिष्ठ लिपिक के रिक्त पदों की पूर्ति के संबंध में।\n"
        "महोदय, उपर्युक्त विषय में निवेदन है कि इस कार्यालय में कनिष्ठ लिपिक के चार पद "
        "पिछले छह माह से रिक्त हैं। इन पदों के रिक्त रहने से डाक के पंजीकरण और नस्तियों "
        "के संचालन में विलंब हो रहा है। कृपया चयन सूची से अभ्यर्थियों की नियुक्ति के "
        "आदेश शीघ्र जारी करने का कष्ट करें।",
        "तहसील सदर के ग्राम रामपुर में पेयजल की समस्या के संबंध में ग्रामवासियों का "
        "आवेदन पत्र प्राप्त हुआ है। ग्राम के दोनों हैंडपंप खराब हैं और नलकूप की मोटर "
        "जल गई है। अधिशासी अभियंता, जल निगम से अनुरोध है कि वे एक सप्ताह के भीतर "
        "मरम्मत कराकर इस कार्यालय को सूचित करें।",
        "शासनादेश संख्या चार सौ बारह दिनांक पंद्रह अक्टूबर के अनुपालन में सभी विभागाध्यक्ष "
        "अपने अधीनस्थ कार्यालयों में ई-ऑफिस प्रणाली का प्रयोग सुनिश्चित करेंगे। "
        "प्रगति की मासिक रिपोर्ट प्रत्येक माह की पाँच तारीख तक सामान्य प्रशासन विभाग "
        "को भेजी जाए।",
    ],
    "eng": [
        "Subject: Filling of vacant posts of Junior Clerk in the district office.\n"
        "Sir, I am directed to state that four posts of Junior Clerk in this office have "
        "remained vacant for the last six months. The vacancies have delayed the "
        "registration of dak and the movement of files. You are requested to issue the "
        "appointment orders of the selected candidates at the earliest.",
        "An application from the residents of village Rampur, Tehsil Sadar, regarding "
        "the shortage of drinking water has been received. Both hand pumps of the village "
        "are out of order and the motor of the tube well has burnt out. The Executive "
        "Engineer, Jal Nigam, is requested to get them repaired within a week.",
        "In compliance with Government Order No. 412 dated 15 October, all heads of "
        "departments shall ensure the use of the e-Office system in their subordinate "
        "offices. A monthly progress report shall be sent to the General Administration "
        "Department by the fifth of every month.",
    ],
}
TINY = {"hin": [LETTERS["hin"][1][:150]], "eng": [LETTERS["eng"][1][:170]]}


def font(lang: str, size: int) -> ImageFont.FreeTypeFont:
    path = next((p for p in FONTS[lang] if p.is_file()), None)
    if path is None:
        raise SystemExit(f"no font for {lang}: install fonts-noto-core")
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            trial = f"{line} {word}".strip()
            if line and face.getlength(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def render(text: str, lang: str, dpi: int = 300, *, skew: float = 0.6, noise: bool = True,
           seed: int = 7) -> bytes:
    """The text as an A4 image-only PDF: 12 pt type, a small skew, mild speckle noise."""
    rng = random.Random(seed)
    size = (round(8.27 * dpi), round(11.69 * dpi))
    margin = dpi  # one inch
    face = font(lang, round(12 * dpi / 72))
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    y = margin
    step = round(12 * dpi / 72 * 1.9)
    for line in wrap(text, face, size[0] - 2 * margin):
        draw.text((margin, y), line, font=face, fill=20)
        y += step
    if skew:
        page = page.rotate(rng.uniform(-skew, skew), resample=Image.Resampling.BICUBIC,
                           fillcolor=255)
    if noise:
        # sparse dark specks (dust on the glass) and a light grain over the whole page
        specks = Image.effect_noise(size, 24).point(lambda v: 0 if v < 58 else 255)
        grain = Image.effect_noise(size, 10).point(lambda v: min(255, v + 110))
        page = ImageChops.darker(ImageChops.darker(page, specks), grain)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=dpi)
    return out.getvalue()


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def distance(a: str, b: str) -> int:
    """Levenshtein edit distance (two rows)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def words(text: str) -> set[str]:
    from engine.search.index import words as index_words

    return {w for w in index_words(text) if len(w) >= 3}


def read_pdf(data: bytes) -> str:
    """Read an image-only PDF the way the server's OCR job does."""
    with pdfpages.opened(data) as pdf:
        return "\n".join(tesseract.recognise(pdfpages.image(pdf, i)) for i in range(len(pdf)))


def run(dpi: int, tiny: bool, clean: bool) -> dict:
    state = tesseract.status(fresh=True)
    if not state.available:
        raise SystemExit(state.message)
    letters = TINY if tiny else LETTERS
    out: dict = {"dpi": dpi, "tesseract": state.version, "languages": {}}
    pages = 0
    seconds = 0.0
    for lang, texts in letters.items():
        errors = chars = found = wanted = 0
        for n, text in enumerate(texts):
            pdf = render(text, lang, dpi, skew=0 if clean else 0.6, noise=not clean, seed=n)
            started = time.perf_counter()
            got = read_pdf(pdf)
            seconds += time.perf_counter() - started
            pages += 1
            ref = normalise(text)
            errors += distance(ref, normalise(got))
            chars += len(ref)
            ref_words = words(text)
            wanted += len(ref_words)
            found += len(ref_words & words(got))
        out["languages"][lang] = {"pages": len(texts), "cer": errors / chars,
                                  "word_recall": found / wanted if wanted else 1.0}
    out["pages"] = pages
    out["pages_per_minute"] = pages / seconds * 60 if seconds else 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dpi", type=int, default=300, choices=range(150, 401),
                        metavar="150-400")
    parser.add_argument("--tiny", action="store_true", help="one short paragraph per language")
    parser.add_argument("--clean", action="store_true", help="no skew and no noise")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    result = run(args.dpi, args.tiny, args.clean)
    names = {"hin": "Hindi", "eng": "English"}
    print(f"OCR benchmark: {result['tesseract']}, {args.dpi} dpi, "
          f"{'clean' if args.clean else 'skewed, noisy'} scans")
    for lang, figures in result["languages"].items():
        print(f"{names[lang]:8s} CER {figures['cer'] * 100:5.2f} %   word recall "
              f"{figures['word_recall'] * 100:5.1f} %   ({figures['pages']} page(s))")
    print(f"speed    {result['pages_per_minute']:.1f} pages per minute "
          f"({result['pages']} pages, one Tesseract thread)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
