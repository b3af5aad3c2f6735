"""The PDF bulletin in English and Russian, from the real figures of 2020-W30.

The bytes are read back with pypdf (a test-only dependency): a PDF of one or two A4 pages,
the font embedded, the Russian text really there as text (a reader can search and copy
it), long content kept to two pages, and a quote's ``$`` signs kept as text.
"""

from __future__ import annotations

import dataclasses
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

from bot.digest.charts import draw_charts
from bot.digest.pdf import draw_pdf, page_png, render_pdfs
from tests.digest.realdata import bulletin, chart_request
from tests.digest.test_charts import png_size

A4 = (595, 842)  # points, rounded


@pytest.fixture(scope="module")
def charts() -> dict[str, list[tuple[str, bytes]]]:
    return {lang: draw_charts(chart_request(lang)) for lang in ("en", "ru")}


def read(pdf: bytes) -> tuple[PdfReader, str]:
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    reader = PdfReader(BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def embedded_fonts(reader: PdfReader) -> set[str]:
    """Base names of the fonts whose program is embedded in the file."""
    names = set()
    for page in reader.pages:
        resources: Any = page["/Resources"]
        fonts = resources["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None and any(
                    key in descriptor.get_object() for key in ("/FontFile", "/FontFile2")
                ):
                    names.add(str(font["/BaseFont"]))
    return names


async def test_bulletins_in_english_and_russian_from_the_worker(
    charts: dict[str, list[tuple[str, bytes]]],
) -> None:
    en, ru = await render_pdfs([bulletin("en", charts["en"]), bulletin("ru", charts["ru"])])
    for pdf, lang in ((en, "en"), (ru, "ru")):
        reader, text = read(pdf)
        assert 1 <= len(reader.pages) <= 2
        for page in reader.pages:
            box = page.mediabox
            assert (round(float(box.width)), round(float(box.height))) == A4
        assert any("DejaVuSans" in name for name in embedded_fonts(reader)), lang
        # the table's figures, formatted for the language (real data: PAK 8,030 cases)
        assert ("8,030" if lang == "en" else "8 030") in text.replace("\u00a0", " ")
        assert len(pdf) < 1_500_000
    _, en_text = read(en)
    _, ru_text = read(ru)
    assert "Kyrgyzstan" in en_text and "Кыргызстан" not in en_text
    # the config's official name (CLDR's would be «Киргизия»), as text in an embedded font
    for word in ("Кыргызстан", "Туркменистан", "Центральная Азия", "переклассификация"):
        assert word in ru_text, word
    assert "Kyrgyzstan" not in ru_text


def test_the_bulletin_shows_every_section(charts: dict[str, list[tuple[str, bytes]]]) -> None:
    sample = bulletin("en", charts["en"])
    _, text = read(draw_pdf(sample))
    for heading in (
        "Completeness",
        "Figures by country",
        "Needs in supplies and consumables",
        "Training topics wanted",
        "Key developments",
        "Revisions since the last digest",
    ):
        assert heading in text, heading
    # pypdf splits a kerned pair now and then ("T est kits"): compare without spaces
    squashed = "".join(text.split())
    for line in (*sample.needs, *sample.training, *sample.developments, *sample.revisions):
        assert "".join(line.split()) in squashed, line
    reader = PdfReader(BytesIO(draw_pdf(sample)))
    # matplotlib shares one resource dictionary between the pages: count distinct images
    images = {(i.name, i.image.size) for page in reader.pages for i in page.images if i.image}
    assert images == {("I1.png", (1080, 1350)), ("I2.png", (1080, 1350))}  # both charts


def test_a_quote_with_dollar_signs_stays_text(charts: dict[str, list[tuple[str, bytes]]]) -> None:
    """Two ``$`` in one line would be TeX to matplotlib by default (or an error)."""
    quote = "Tajikistan: «A $5 million grant and $2 per test kit; 10% more tests.»"
    sample = dataclasses.replace(bulletin("en", charts["en"]), developments=[quote])
    _, text = read(draw_pdf(sample))
    assert "$5 million grant and $2 per test kit" in " ".join(text.split())


def test_short_content_fits_one_page(charts: dict[str, list[tuple[str, bytes]]]) -> None:
    sample = dataclasses.replace(
        bulletin("en", charts["en"]), developments=[], training=[], needs=[]
    )
    reader, _ = read(draw_pdf(sample))
    assert len(reader.pages) == 1


def test_long_content_is_kept_to_two_pages_and_says_so(
    charts: dict[str, list[tuple[str, bytes]]],
) -> None:
    """Eight countries each quoting the full 1,000 characters: smaller type first, then the
    end is cut with a note, never a third page."""
    base = bulletin("ru", charts["ru"])
    words = "Лаборатории работают в три смены, тест-системы закончатся через неделю. "
    long = [f"Страна {i}: «{(words * 14)[:990]}»" for i in range(8)]
    fits = dataclasses.replace(base, developments=long[:3])
    reader, text = read(draw_pdf(fits))
    assert len(reader.pages) == 2
    assert "Сокращено" not in text and "Shortened" not in text

    too_long = dataclasses.replace(base, developments=long * 2)
    reader, text = read(draw_pdf(too_long))
    assert len(reader.pages) == 2
    # the note (its msgid until the catalogs have the Russian)
    assert "Shortened to fit two pages" in text or "Сокращено до двух страниц" in text


def test_a_page_preview_png_has_the_a4_shape(charts: dict[str, list[tuple[str, bytes]]]) -> None:
    width, height = png_size(page_png(bulletin("ru", charts["ru"]), 0, dpi=72))
    assert width == 595 and height in (841, 842)  # 841.89 points
