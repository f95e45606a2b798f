"""Segments, warnings and stats: Word and PowerPoint files built here with python-docx and
python-pptx, and PDFs page by page, as the platform's worker segments them."""

from __future__ import annotations

import io
import zipfile

import docx
import pptx
import pytest
from docx.oxml import OxmlElement
from pptx.util import Inches

from tests.tools.materials.test_extract import make_pdf, zip_of
from tools.materials import extract as extract_module
from tools.materials.extract import (
    DOCX_MIME,
    PPTX_MIME,
    ExtractionLimits,
    MaterialUnreadable,
    Segment,
    detect_type,
    extract_text,
)


def word_file() -> bytes:
    document = docx.Document()
    document.add_heading("Forces", level=1)
    document.add_paragraph("A force is a push or a pull.")
    document.add_paragraph("It is measured in newtons.")
    document.add_paragraph("")  # an empty paragraph: the platform's blank line
    document.add_heading("Units", level=2)
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Quantity", "Unit", "Symbol"), strict=True):
        cell.text = text
    table.rows[1].cells[0].text = "Force"
    merged = table.rows[1].cells[1].merge(table.rows[1].cells[2])
    merged.text = "newton (N)"
    document.add_paragraph("")
    document.add_paragraph("")
    document.add_paragraph("Energy is measured in\u200b joules.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def slides_file(*slides: list[str], order: list[int] | None = None) -> bytes:
    """One slide per entry (its text boxes); `order` rearranges the slide list afterwards,
    so the slides' order differs from the order of their parts in the ZIP."""
    presentation = pptx.Presentation()
    blank = presentation.slide_layouts[6]
    for boxes in slides:
        slide = presentation.slides.add_slide(blank)
        for n, text in enumerate(boxes):
            box = slide.shapes.add_textbox(Inches(1), Inches(1 + n), Inches(6), Inches(1))
            box.text_frame.text = text
    if order is not None:
        ids = presentation.slides._sldIdLst
        entries = list(ids)
        for entry in entries:
            ids.remove(entry)
        for index in order:
            ids.append(entries[index])
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def slides_with_table_and_group() -> bytes:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    group = slide.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    box.text_frame.text = "Grouped: momentum is conserved."
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(3), Inches(4), Inches(1)).table
    table.cell(0, 0).text, table.cell(0, 1).text = "p", "m v"
    table.cell(1, 0).text, table.cell(1, 1).text = "F", "m a"
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


# --- Word -----------------------------------------------------------------------------------


def test_a_word_document_splits_into_paragraph_blocks_at_empty_paragraphs() -> None:
    extracted = extract_text(word_file(), mime_type=DOCX_MIME, file_name="forces.docx")
    assert extracted.source_type == "docx"
    assert extracted.segments == (
        Segment(
            "paragraph", 1, "# Forces\nA force is a push or a pull.\nIt is measured in newtons."
        ),
        Segment("paragraph", 2, "## Units\nQuantity | Unit | Symbol\nForce | newton (N)"),
        Segment("paragraph", 3, "Energy is measured in joules."),  # invisible characters gone
    )
    assert extracted.text == "\n\n".join(s.text for s in extracted.segments)
    assert extracted.warnings == ()
    assert extracted.extraction_stats == {
        "charCount": sum(len(s.text) for s in extracted.segments),
        "segmentCount": 3,
    }


@pytest.mark.parametrize(
    ("mime_type", "file_name"),
    [(DOCX_MIME, None), ("application/octet-stream", "forces.docx"), (None, None)],
)
def test_a_word_document_is_recognised_by_type_name_or_contents(
    mime_type: str | None, file_name: str | None
) -> None:
    assert detect_type(word_file(), mime_type=mime_type, file_name=file_name) == "docx"


def test_text_inside_content_controls_is_read() -> None:
    document = docx.Document()
    document.add_paragraph("Before the control.")
    document.add_paragraph("")
    inside = document.add_paragraph("Inside a content control.")
    # Wrap the paragraph in <w:sdt><w:sdtContent>…</w:sdtContent></w:sdt>, as templates do.
    sdt, sdt_content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
    inside._p.addprevious(sdt)
    sdt.append(sdt_content)
    sdt_content.append(inside._p)
    buffer = io.BytesIO()
    document.save(buffer)
    extracted = extract_text(buffer.getvalue(), mime_type=DOCX_MIME, file_name="form.docx")
    assert [s.text for s in extracted.segments] == [
        "Before the control.",
        "Inside a content control.",
    ]


def test_a_word_document_without_text_is_unreadable() -> None:
    document = docx.Document()
    document.add_paragraph("")
    buffer = io.BytesIO()
    document.save(buffer)
    with pytest.raises(MaterialUnreadable) as raised:
        extract_text(buffer.getvalue(), mime_type=DOCX_MIME, file_name="empty.docx")
    assert str(raised.value) == "The Word document has no text."


def test_a_damaged_word_document_is_unreadable() -> None:
    damaged = zip_of("word/document.xml", "[Content_Types].xml")  # the parts are empty
    with pytest.raises(MaterialUnreadable, match="not a readable Word document"):
        extract_text(damaged, mime_type=DOCX_MIME, file_name="essay.docx")


@pytest.mark.parametrize(
    ("content", "mime_type", "file_name", "what"),
    [
        (b"<w:document/>", None, "essay.docx", "Word document"),
        (b"plain words", DOCX_MIME, None, "Word document"),
        (zip_of("notes.txt"), None, "essay.docx", "Word document"),
        (b"plain words", None, "deck.pptx", "PowerPoint presentation"),
    ],
)
def test_a_file_named_as_office_but_not_one_is_refused_at_detection(
    content: bytes, mime_type: str | None, file_name: str | None, what: str
) -> None:
    with pytest.raises(MaterialUnreadable, match=f"not a readable {what}"):
        detect_type(content, mime_type=mime_type, file_name=file_name)


def test_an_office_file_that_inflates_too_far_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process (the child process would not see the patched limit).
    monkeypatch.setattr(extract_module, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(MaterialUnreadable, match="unpacks to more than"):
        extract_module._parse("docx", word_file(), ExtractionLimits())


# --- PowerPoint -----------------------------------------------------------------------------


def test_one_segment_per_slide_with_text_in_slide_order() -> None:
    deck = slides_file(
        ["Waves", "Waves carry energy."],
        [],  # an empty slide: dropped, but it keeps its number
        ["Sound is a longitudinal wave."],
        order=[2, 0, 1],  # the last slide added is shown first
    )
    with zipfile.ZipFile(io.BytesIO(deck)) as archive:
        parts = [n for n in archive.namelist() if n.startswith("ppt/slides/slide")]
    assert parts == sorted(parts)  # slide1.xml.. in the ZIP: not the order shown
    extracted = extract_text(deck, mime_type=PPTX_MIME, file_name="waves.pptx")
    assert extracted.source_type == "pptx"
    assert extracted.segments == (
        Segment("slide", 1, "Sound is a longitudinal wave."),
        Segment("slide", 2, "Waves\nWaves carry energy."),
    )
    assert extracted.extraction_stats["segmentCount"] == 2


def test_text_in_groups_and_tables_is_read() -> None:
    extracted = extract_text(slides_with_table_and_group(), mime_type=None, file_name=None)
    assert extracted.segments == (
        Segment("slide", 1, "Grouped: momentum is conserved.\np | m v\nF | m a"),
    )


def test_a_presentation_without_text_is_unreadable() -> None:
    with pytest.raises(MaterialUnreadable) as raised:
        extract_text(slides_file([], []), mime_type=PPTX_MIME, file_name="blank.pptx")
    assert str(raised.value) == "The presentation has no text on any slide."


# --- PDF and text ---------------------------------------------------------------------------


def test_a_pdf_gives_one_segment_per_page_with_text() -> None:
    extracted = extract_text(
        make_pdf("Newtons measure force.", None, "Joules measure energy."),
        mime_type="application/pdf",
        file_name="units.pdf",
    )
    assert extracted.segments == (
        Segment("page", 1, "Newtons measure force."),
        Segment("page", 3, "Joules measure energy."),
    )
    assert extracted.warnings == ("Pages without text (scans are not read): 2.",)


def test_only_the_first_text_pages_of_a_pdf_are_read() -> None:
    pdf = make_pdf("One.", "Two.", "Three.")
    extracted = extract_text(
        pdf, mime_type=None, file_name="x.pdf", limits=ExtractionLimits(text_pages=2)
    )
    assert [s.index for s in extracted.segments] == [1, 2]
    assert "Three" not in extracted.text
    assert extracted.warnings == (
        "Only the first 2 of 3 pages were read; split the file to use the rest.",
    )
    assert ExtractionLimits().text_pages == 40


def test_text_and_markdown_are_one_paragraph_segment() -> None:
    extracted = extract_text(b"# Heat\n\nHeat flows.", mime_type=None, file_name="heat.md")
    assert extracted.segments == (Segment("paragraph", 1, "# Heat\n\nHeat flows."),)
    assert extracted.extraction_stats == {"charCount": 19, "segmentCount": 1}
