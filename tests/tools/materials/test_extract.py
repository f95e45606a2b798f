"""Text out of uploads: plain text, Markdown and PDF, and readable reasons for everything else
(Word and PowerPoint files: `test_office.py`)."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter

from tools.materials import extract as extract_module
from tools.materials.extract import MaterialUnreadable, detect_type, extract_text


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(*pages: str | None) -> bytes:
    """A minimal valid PDF written by hand: one Helvetica text page per entry (None: no text).

    Lines of a page's text (split on newlines) are drawn one under the other.
    """
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            f" /Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        if text is None:
            stream = b"1 w 72 72 m 300 300 l S"  # a drawing, no text: what a scan looks like
        else:
            lines = " T* ".join(f"{_pdf_string(line)} Tj" for line in text.split("\n"))
            stream = f"BT /F1 12 Tf 16 TL 72 720 Td {lines} ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of numbered `objects` (the first one the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def zip_of(*names: str) -> bytes:
    """A ZIP archive holding an empty file under each name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return buffer.getvalue()


def encrypt_pdf(content: bytes, *, user_password: str, owner_password: str = "owner") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    writer.encrypt(user_password, owner_password, algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


PAGES = (
    "Forces and motion\nA force is a push or a pull (measured in newtons).",
    "Energy\nThe SI unit of energy is the joule.",
)


# --- plain text and Markdown --------------------------------------------------------------------


def test_plain_text_is_cleaned_of_invisible_characters() -> None:
    raw = "\ufeffThe SI unit of\u200b force is the newton.\r\n\r\nIgnore\u2062 this\x07 bell."
    extracted = extract_text(raw.encode("utf-8"), mime_type="text/plain", file_name="notes.txt")
    assert extracted.source_type == "text"
    assert extracted.text == "The SI unit of force is the newton.\n\nIgnore this bell."


def test_a_bom_and_legacy_encodings_decode() -> None:
    bom = "\ufeffCafé au lait".encode()
    assert extract_text(bom, mime_type=None, file_name="a.txt").text == "Café au lait"
    latin = "Café – “quoted”".encode("cp1252")
    assert extract_text(latin, mime_type=None, file_name="a.txt").text == "Café – “quoted”"
    undefined_in_cp1252 = b"Stra\xdfe \x81"
    assert extract_text(undefined_in_cp1252, mime_type=None, file_name="a.txt").text == "Straße"
    utf16 = "Wave speed v = f × λ".encode("utf-16")
    assert extract_text(utf16, mime_type=None, file_name=None).text == "Wave speed v = f × λ"


@pytest.mark.parametrize(
    ("mime_type", "file_name"),
    [
        ("text/markdown", None),
        ("text/x-markdown; charset=utf-8", "notes"),
        ("text/plain", "notes.md"),
        (None, "Notes.MARKDOWN"),
        ("application/octet-stream", "notes.md"),
    ],
)
def test_markdown_by_mime_then_extension(mime_type: str | None, file_name: str | None) -> None:
    text = "# Waves\n\nWaves transfer energy, not matter."
    extracted = extract_text(text.encode(), mime_type=mime_type, file_name=file_name)
    assert extracted.source_type == "markdown"
    assert extracted.text == text


def test_unknown_text_defaults_to_plain_text() -> None:
    extracted = extract_text(b"Just some notes.", mime_type=None, file_name=None)
    assert (extracted.text, extracted.source_type) == ("Just some notes.", "text")


# --- PDF --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mime_type", "file_name"),
    [
        ("application/pdf", "forces.pdf"),
        (None, "forces.PDF"),
        (None, None),  # magic bytes alone
        ("text/plain", "forces.txt"),  # a wrong guess: the %PDF- signature wins
    ],
)
def test_pdf_text_from_every_page(mime_type: str | None, file_name: str | None) -> None:
    extracted = extract_text(make_pdf(*PAGES), mime_type=mime_type, file_name=file_name)
    assert extracted.source_type == "pdf"
    first, second = extracted.text.split("\n\n")
    assert "Forces and motion" in first and "(measured in newtons)" in first
    assert "joule" in second and "force" not in second
    assert extracted.text.index("newtons") < extracted.text.index("joule")


def test_a_pdf_without_text_is_unreadable() -> None:
    with pytest.raises(MaterialUnreadable) as raised:
        extract_text(make_pdf(None, None), mime_type="application/pdf", file_name="scan.pdf")
    assert str(raised.value) == "The PDF has no extractable text (is it a scan?)"


def test_a_pdf_with_some_blank_pages_keeps_the_text() -> None:
    extracted = extract_text(
        make_pdf(None, "Only page two has text."), mime_type=None, file_name=None
    )
    assert extracted.text == "Only page two has text."


def test_a_password_protected_pdf_is_unreadable() -> None:
    locked = encrypt_pdf(make_pdf(*PAGES), user_password="secret")
    with pytest.raises(MaterialUnreadable, match="password-protected"):
        extract_text(locked, mime_type="application/pdf", file_name="locked.pdf")


def test_a_pdf_with_only_an_owner_password_opens() -> None:
    restricted = encrypt_pdf(make_pdf(*PAGES), user_password="")
    extracted = extract_text(restricted, mime_type="application/pdf", file_name="restricted.pdf")
    assert "joule" in extracted.text


def test_a_corrupt_pdf_is_unreadable() -> None:
    with pytest.raises(MaterialUnreadable, match="not a readable PDF"):
        extract_text(b"%PDF-1.7\nthis is not really a PDF", mime_type=None, file_name="x.pdf")


# --- unsupported and empty ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "mime_type", "file_name", "what"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png", "photo.png", "an image"),
        (b"\xff\xd8\xff\xe0 jpeg", None, None, "an image"),
        (b"some bytes", "image/heic", "photo.heic", "an image"),
        (zip_of("xl/workbook.xml"), "application/octet-stream", "marks.xlsx", "Excel"),
        (zip_of("notes.txt"), None, "notes.zip", "a ZIP archive"),
        (
            zip_of("xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            None,
            "Microsoft Office",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", None, "essay.doc", "old Microsoft Office"),
        (b"some text", None, "essay.doc", "old Word document (.doc)"),
        (b"some text", None, "deck.ppt", "old PowerPoint presentation (.ppt)"),
        (b"<html><body>hi</body></html>", "text/html", "page.html", "a web page"),
        (b"\x00\x01\x02\x03binary\x00", None, "data.bin", "a binary file"),
    ],
)
def test_unsupported_types_say_what_they_are(
    content: bytes, mime_type: str | None, file_name: str | None, what: str
) -> None:
    with pytest.raises(MaterialUnreadable) as raised:
        extract_text(content, mime_type=mime_type, file_name=file_name)
    message = str(raised.value)
    assert what in message
    assert "PDF, Word (.docx), PowerPoint (.pptx), Markdown or plain-text" in message
    with pytest.raises(MaterialUnreadable):
        detect_type(content, mime_type=mime_type, file_name=file_name)


def test_empty_and_blank_files_are_unreadable() -> None:
    for content in (b"", b"  \n\t ", "\u200b\u200b".encode()):
        with pytest.raises(MaterialUnreadable):
            extract_text(content, mime_type="text/plain", file_name="empty.txt")


def test_files_over_the_size_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "MAX_BYTES", 64)
    with pytest.raises(MaterialUnreadable, match="larger than"):
        extract_text(b"x" * 65, mime_type="text/plain", file_name=None)
    assert extract_text(b"x" * 64, mime_type="text/plain", file_name=None).text == "x" * 64
