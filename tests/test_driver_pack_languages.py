"""The driver pack prints Singapore's languages: Chinese, Tamil and Malay notes come out of the PDF as they went
in (text extraction equals the note), emoji become a plain symbol and never an empty box (issue 23)."""

from __future__ import annotations

import html
import io
import re

import pypdf
import pytest
from reportlab.pdfbase import pdfmetrics
from test_export_content import with_stop_fields

from sgroute_assets.domain.exports.driver_pack_pdf import driver_pack_pdf
from sgroute_assets.domain.exports.pdf_fonts import MISSING, installed_fallbacks, pdf_fonts, pdf_text
from sgroute_assets.domain.routing import RoutePlan

NOTES = {
    "chinese": "请按门铃",
    "tamil": "வணக்கம்",
    "malay": "Sila tekan loceng, terima kasih",
    "mixed": "Leave at 门口 (door) — வாசலில் விடவும்",
}


def _text(pdf: bytes) -> str:
    """The pack's text without white space: a table cell wraps a note wherever its column ends."""
    return "".join("".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_the_fonts_for_every_language_are_installed() -> None:
    assert installed_fallbacks()[:2] == ["SgrouteTamil", "SgrouteCJK"], "run `make fonts` (Debian fonts)"


@pytest.mark.parametrize("language", sorted(NOTES))
def test_notes_in_each_language_come_out_of_the_pdf_as_written(small_plan: RoutePlan, language: str) -> None:
    note = NOTES[language]
    plan = with_stop_fields(small_plan, notes=note, contact_name=f"{note[:4]} Tan")
    text = _text(driver_pack_pdf(plan))
    assert "".join(note.split()) in text, text[:2000]
    assert "\u25a1" not in text and "\ufffd" not in text


def test_a_chinese_stop_file_name_prints_in_the_footer(small_plan: RoutePlan) -> None:
    plan = with_stop_fields(small_plan, notes="门")
    text = _text(driver_pack_pdf(plan, title="星期一订单"))
    assert "星期一订单" in text


def _drawn(markup: str) -> str:
    """The text of Paragraph markup, after checking every character is in the font of its run (a font without
    it draws an empty box)."""
    seen = ""
    for font, inside, outside in re.findall(r'<font name="([^"]+)">(.*?)</font>|([^<]+)', markup):
        name = font or pdf_fonts()[0]
        codes = pdfmetrics.getFont(name).face.charToGlyph
        text = html.unescape(inside or outside)
        assert all(ord(c) in codes for c in text), (name, text)
        seen += text
    return seen


@pytest.mark.parametrize("language", sorted(NOTES))
def test_every_character_of_a_note_has_a_glyph(language: str) -> None:
    assert _drawn(pdf_text(NOTES[language])) == NOTES[language]


def test_emoji_fall_back_to_a_plain_symbol_never_a_box() -> None:
    drawn = _drawn(pdf_text("Fragile 📦 ⚠️ handle 👍🏽 \U0001fae8 done"))  # U+1FAE8 (2023) is in no installed font
    assert drawn.startswith("Fragile 📦") and drawn.endswith(f" {MISSING} done")
