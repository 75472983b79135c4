"""Articles, or a whole category as a manual, as one HTML file (CSS inline, nothing
fetched) or as a PDF (fpdf2, pure Python, from the same sanitized HTML)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from .models import Article

# Fonts with the accents and punctuation of both languages; without them, the PDF falls
# back to the core fonts (Latin-1 only) and other characters become "?".
FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]
_FONTS = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "BI": "DejaVuSans-BoldOblique.ttf",
}
_MONO = "DejaVuSansMono.ttf"
# Images are left out of PDFs: fpdf2 would fetch their URLs from the server.
_IMAGES = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT = re.compile(r'\balt="([^"]*)"')
# Tags fpdf2's HTML reader does not know, unwrapped to their content.
_UNKNOWN = re.compile(r"</?(?:span|div|kbd|abbr|small|q|del|ins|s|caption|colgroup|col)\b[^>]*>",
                      re.IGNORECASE)  # fmt: skip


@dataclass(frozen=True)
class Manual:
    title: str
    description: str
    articles: list[Article]
    # A category's manual opens with a title page and contents; one article does not.
    cover: bool = False


def filename(title: str, extension: str) -> str:
    return f"{slugify(title)[:80] or 'article'}.{extension}"


def to_html(manual: Manual, *, language: str) -> str:
    """A standalone HTML document: a contents list when there are several articles."""
    return render_to_string(
        "kb/export.html",
        {
            "manual": manual,
            "language": language,
            "generated": timezone.now(),
            "contents": manual.cover,
        },
    )


def _font_dir() -> Path | None:
    for folder in FONT_DIRS:
        if all((folder / name).exists() for name in [*_FONTS.values(), _MONO]):
            return folder
    return None


def _pdf_html(article: Article) -> str:
    def image(match: re.Match) -> str:
        alt = _ALT.search(match.group(0))
        return f"[{alt.group(1)}]" if alt and alt.group(1) else ""

    body = _IMAGES.sub(image, article.body_html)
    return _UNKNOWN.sub("", body)


def to_pdf(manual: Manual) -> bytes:
    """The manual as PDF: a title page with the contents for a category, then each
    article from a new page."""
    from fpdf import FPDF, TextStyle

    pdf = FPDF(format="A4")
    pdf.set_title(manual.title)
    pdf.set_creator("Soporte")
    pdf.set_auto_page_break(auto=True, margin=15)
    folder = _font_dir()
    if folder is not None:
        for style, name in _FONTS.items():
            pdf.add_font("DejaVu", style, str(folder / name))
        pdf.add_font("DejaVuMono", "", str(folder / _MONO))
        family, mono = "DejaVu", "DejaVuMono"
    else:
        family, mono = "helvetica", "courier"

    def text(value: str) -> str:
        if folder is not None:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    if manual.cover:
        pdf.add_page()
        pdf.set_font(family, "B", 22)
        pdf.multi_cell(0, 12, text(manual.title), new_x="LMARGIN", new_y="NEXT")
        if manual.description:
            pdf.set_font(family, "", 12)
            pdf.multi_cell(0, 7, text(manual.description), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        pdf.set_font(family, "", 11)
        for number, article in enumerate(manual.articles, 1):
            pdf.multi_cell(0, 7, text(f"{number}. {article.title}"), new_x="LMARGIN", new_y="NEXT")
    for article in manual.articles:
        pdf.add_page()
        pdf.set_font(family, "B", 18)
        pdf.multi_cell(0, 10, text(article.title), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font(family, "", 11)
        pdf.write_html(
            text(_pdf_html(article)),
            font_family=family,
            tag_styles={"code": TextStyle(font_family=mono), "pre": TextStyle(font_family=mono)},
        )
    return bytes(pdf.output())
