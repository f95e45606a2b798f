"""Page and time limits per material, with PDFs built in the test: over either limit the
material fails with a reason, quickly, and no extraction process is left running."""

from __future__ import annotations

import io
import multiprocessing
import time
import zlib

import pytest
from pypdf import PdfWriter

from tests.tools.materials.test_extract import make_pdf, pdf_file
from tools.materials.extract import ExtractionLimits, MaterialUnreadable, extract_text


def blank_pages(count: int) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def slow_pdf(operations: int = 400_000) -> bytes:
    """A PDF of a few tens of KB whose one page unpacks into `operations` text operations:
    pypdf needs about 20 s of CPU for it (the kind of upload that took 64 s)."""
    stream = zlib.compress(b"BT /F1 12 Tf 72 720 Td (a) Tj ET\n" * operations, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return pdf_file(objects)


def test_the_documented_defaults() -> None:
    assert ExtractionLimits() == ExtractionLimits(max_pages=200, max_seconds=30.0)


def test_a_pdf_over_the_default_page_limit_fails_with_its_page_count() -> None:
    with pytest.raises(MaterialUnreadable) as refused:
        extract_text(blank_pages(201), mime_type="application/pdf", file_name="long.pdf")
    assert str(refused.value) == (
        "The PDF has 201 pages; a material can have at most 200. Split it into smaller files."
    )


def test_the_page_limit_is_a_setting() -> None:
    pdf = make_pdf("Force: newtons.", "Energy: joules.", "Power: watts.", "Charge: coulombs.")
    text = extract_text(
        pdf, mime_type=None, file_name="units.pdf", limits=ExtractionLimits(max_pages=4)
    ).text
    assert "coulombs" in text
    with pytest.raises(MaterialUnreadable, match="has 4 pages; a material can have at most 3"):
        extract_text(pdf, mime_type=None, file_name="units.pdf", limits=ExtractionLimits(3))


def test_a_pdf_that_takes_too_long_is_stopped_at_the_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(MaterialUnreadable) as refused:
        extract_text(
            slow_pdf(),
            mime_type="application/pdf",
            file_name="dense.pdf",
            limits=ExtractionLimits(max_seconds=0.5),
        )
    elapsed = time.monotonic() - started
    assert "took longer than 0.5 seconds, the limit per material" in str(refused.value)
    assert elapsed < 3
    # The extraction was killed, not left burning CPU in the background.
    assert multiprocessing.active_children() == []


def test_a_readable_pdf_is_unaffected_by_the_limits() -> None:
    text = extract_text(
        slow_pdf(operations=200), mime_type="application/pdf", file_name="small.pdf"
    ).text
    assert text.count("a") == 200
