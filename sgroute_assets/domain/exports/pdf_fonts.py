"""Fonts for the driver pack: Latin, Malay, Chinese and Tamil on one page, chosen per character.

Drivers read the notes, and in Singapore those come in four official languages. ReportLab embeds TrueType
outlines only (not CFF-based OpenType such as Noto CJK), so the chain is made of TrueType fonts from Debian:
DejaVu Sans (inside matplotlib: Latin, Malay, Greek, Cyrillic), Lohit Tamil (fonts-lohit-taml), Droid Sans
Fallback (fonts-droid-fallback: Chinese, Japanese, Korean) and Symbola (fonts-symbola: symbols and emoji, drawn
in one colour). `make demo`, `make test` and deploy/Dockerfile install them. Text is split into runs, each in
the first font of the chain that has its characters, so a note's text extracted from the PDF equals the note.
A character that no installed font has becomes U+FFFD (a visible question mark), never an empty box.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

REGULAR, BOLD = "SgrouteSans", "SgrouteSans-Bold"
MISSING = "\ufffd"
# Fallback fonts after DejaVu Sans, in order: (registered name, candidate files).
FALLBACKS = (
    ("SgrouteTamil", ("/usr/share/fonts/truetype/lohit-tamil/Lohit-Tamil.ttf",)),
    (
        "SgrouteCJK",
        (
            "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
            "/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf",
        ),
    ),
    ("SgrouteSymbols", ("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",)),
)


def _register(name: str, path: Path) -> bool:
    if name not in pdfmetrics.getRegisteredFontNames():
        try:
            pdfmetrics.registerFont(TTFont(name, str(path)))
        except Exception:  # noqa: BLE001 - an unreadable or CFF font file: the chain goes on without it
            return False
    return True


@lru_cache(maxsize=1)
def pdf_fonts() -> tuple[str, str]:
    """The base regular and bold fonts: DejaVu Sans from matplotlib, or Helvetica when it is missing."""
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    regular, bold = ttf / "DejaVuSans.ttf", ttf / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file() and _register(REGULAR, regular) and _register(BOLD, bold)):
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
    return REGULAR, BOLD


@lru_cache(maxsize=1)
def _chain() -> tuple[tuple[str, frozenset[int]], ...]:
    """(font name, code points it has) for the base font and every fallback found on this machine."""
    regular, _ = pdf_fonts()
    out = []
    if regular == REGULAR:
        out.append((None, frozenset(pdfmetrics.getFont(REGULAR).face.charToGlyph)))
    for name, candidates in FALLBACKS:
        found = next((Path(c) for c in candidates if Path(c).is_file()), None)
        if found is not None and _register(name, found):
            out.append((name, frozenset(pdfmetrics.getFont(name).face.charToGlyph)))
    return tuple(out)


def installed_fallbacks() -> list[str]:
    """The fallback fonts this machine has (for a test or a log line saying what the pack can print)."""
    return [name for name, _ in _chain() if name]


def _font_for(char: str, current: str | None) -> str | None | bool:
    """The font of the run ``char`` belongs to: the current run's if it has it, else the first that does.
    False when no font has it."""
    code = ord(char)
    chain = _chain()
    if not chain:
        return None  # Helvetica alone: nothing to choose from
    for name, codes in chain:
        if name == current and code in codes:
            return name
    for name, codes in chain:
        if code in codes:
            return name
    return False


def pdf_text(value: object) -> str:
    """Paragraph markup for plain text: escaped, with each run of characters in a font that can draw it.

    Invisible format characters no font has (an emoji's variation selector or joiner) are left out rather than
    drawn as boxes; any other character no font has becomes U+FFFD.
    """
    text = "" if value is None else str(value)
    runs: list[tuple[str | None, list[str]]] = []
    current: str | None = None
    for char in text:
        font = _font_for(char, current)
        if font is False:
            if unicodedata.category(char) in ("Cf", "Mn") or 0xFE00 <= ord(char) <= 0xFE0F:
                continue
            char, font = MISSING, _font_for(MISSING, current)
            font = None if font is False else font
        if not runs or runs[-1][0] != font:
            runs.append((font, []))
        runs[-1][1].append(char)
        current = font
    return "".join(
        escape("".join(chars)) if font is None else f'<font name="{font}">{escape("".join(chars))}</font>'
        for font, chars in runs
    )
