"""Text out of an uploaded material: PDF, Word (.docx), PowerPoint (.pptx), Markdown or text.

The type is decided by the MIME type, then the file extension, then the first bytes; a binary
signature (`%PDF-`, PNG, ZIP…) wins over a text type a browser guessed, and a ZIP is a Word or
PowerPoint file only when its parts say so. Anything that cannot be read raises
`MaterialUnreadable` with a reason a teacher can act on: retrying will not help.

Segments follow the platform's worker: a PDF gives one `page` segment per page with text (only
the first `ExtractionLimits.text_pages`, 40, are read), a presentation one `slide` segment per
slide with text in slide order, a Word document `paragraph` segments split at empty paragraphs
(the platform's "blank lines"), plain text and Markdown one `paragraph` segment. Indexes are
1-based positions in the file. `warnings` and `extraction_stats` are what the worker records in
`materials.metadata`.

PDF, Word and PowerPoint files are parsed in a child process under `ExtractionLimits` (pages and
seconds per material): a small file can unpack into content that takes a parser minutes of CPU
(or a ZIP that inflates enormously), and a thread cannot be stopped, so the child is killed at
the time limit.
"""

from __future__ import annotations

import io
import multiprocessing
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from pathlib import PurePosixPath
from typing import Any, Literal

import docx
import pptx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pypdf import PdfReader
from pypdf.errors import DependencyError

from tools.text import normalise_text

MAX_BYTES = 20 * 1024 * 1024
SourceType = Literal["pdf", "docx", "pptx", "markdown", "text"]
SegmentKind = Literal["page", "slide", "paragraph"]

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# The most a Word or PowerPoint file may inflate to (a 20 MB ZIP can hide gigabytes).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024

_SUPPORTED = "Upload a PDF, Word (.docx), PowerPoint (.pptx), Markdown or plain-text file."
_OFFICE_NAMES: dict[str, str] = {
    "docx": "Word document (.docx)",
    "pptx": "PowerPoint presentation (.pptx)",
}
# The part that makes a ZIP a Word document or a presentation.
_OFFICE_PARTS: dict[str, SourceType] = {
    "word/document.xml": "docx",
    "ppt/presentation.xml": "pptx",
}
_MIME_TYPES: dict[str, SourceType] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    DOCX_MIME: "docx",
    PPTX_MIME: "pptx",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/csv": "text",
}
_EXTENSIONS: dict[str, SourceType] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".csv": "text",
}
# Binary signatures: what the file is, in words.
_ZIP = b"PK\x03\x04"
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
    (_ZIP, "a ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"\x1f\x8b", "a compressed archive"),
    (b"Rar!", "a compressed archive"),
    (b"7z\xbc\xaf", "a compressed archive"),
)
_UNSUPPORTED_MIME: tuple[tuple[str, str], ...] = (
    ("image/", "an image"),
    ("audio/", "an audio file"),
    ("video/", "a video"),
    ("application/zip", "a ZIP archive"),
    ("application/vnd.openxmlformats", "a Microsoft Office document"),
    ("application/msword", "a Microsoft Word document"),
    ("application/vnd.ms-", "a Microsoft Office document"),
    ("application/vnd.oasis.opendocument", "an OpenDocument file"),
    ("text/html", "a web page"),
)
_UNSUPPORTED_EXTENSIONS = {
    ".doc": "an old Word document (.doc)",
    ".ppt": "an old PowerPoint presentation (.ppt)",
    ".xlsx": "an Excel spreadsheet",
    ".xls": "an Excel spreadsheet",
    ".odt": "an OpenDocument file",
    ".zip": "a ZIP archive",
    ".png": "an image",
    ".jpg": "an image",
    ".jpeg": "an image",
    ".gif": "an image",
    ".html": "a web page",
    ".htm": "a web page",
}
# C0/C1 control characters other than tab, newline and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class MaterialUnreadable(ValueError):
    """The material cannot be turned into text; the message says why (retrying will not help).

    A `ValueError` (bad input): LangGraph's server shows it with its message, and no retry
    policy retries it. The worker fails the material with the message as its warning and ends
    the job done, as the platform's worker does for an unsupported kind or empty text."""


class MaterialMissing(MaterialUnreadable):
    """The material's row or file is gone: the job fails now (the platform's worker treats
    "material not found" as terminal), and the material with the reason as its warning."""


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    """Per material: a PDF with more pages, or whose text takes longer to extract, fails.
    The server sets them from `STEMGRAPH_MATERIAL_MAX_PAGES` / `..._EXTRACT_SECONDS`."""

    max_pages: int = 200
    max_seconds: float = 30.0
    # Pages of a PDF whose text is read (the platform's `PDF_TEXT_PAGE_LIMIT`).
    text_pages: int = 40


@dataclass(frozen=True, slots=True)
class Segment:
    """One page, slide or paragraph block of a material, 1-based `index` in the file."""

    kind: SegmentKind
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ExtractedText:
    """`text` is every segment's text, separated by blank lines."""

    text: str
    source_type: SourceType
    segments: tuple[Segment, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def extraction_stats(self) -> dict[str, int]:
        """`metadata.extraction_stats` as the platform's worker writes it."""
        return {
            "charCount": sum(len(segment.text) for segment in self.segments),
            "segmentCount": len(self.segments),
        }


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What a child process sends back: the segments and any warnings."""

    segments: list[Segment]
    warnings: list[str]


def _unsupported(what: str) -> MaterialUnreadable:
    return MaterialUnreadable(f"This file looks like {what}, which can't be read yet. {_SUPPORTED}")


def _signature(content: bytes) -> str | None:
    head = content[:8]
    return next((what for magic, what in _SIGNATURES if head.startswith(magic)), None)


def _claimed_unsupported(mime: str, extension: str) -> str | None:
    """What an unsupported MIME type or extension says the file is, if it says."""
    for prefix, what in _UNSUPPORTED_MIME:
        if mime.startswith(prefix):
            return what
    return _UNSUPPORTED_EXTENSIONS.get(extension)


def _office_kind(content: bytes) -> SourceType | None:
    """`docx` or `pptx` by the parts inside a ZIP (its directory only); None for any other."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return None
    return next((kind for part, kind in _OFFICE_PARTS.items() if part in names), None)


def _not_readable(kind: str) -> MaterialUnreadable:
    return MaterialUnreadable(
        f"The file is not a readable {_OFFICE_NAMES[kind]}: it may be damaged or saved in"
        " another format. Open it, save it again as a .docx or .pptx, and upload that."
    )


def detect_type(content: bytes, *, mime_type: str | None, file_name: str | None) -> SourceType:
    """The material's format; raises `MaterialUnreadable` for a type that can't be read."""
    if content[:1024].lstrip()[:5] == b"%PDF-":
        return "pdf"
    mime = (mime_type or "").split(";", 1)[0].strip().lower()
    extension = PurePosixPath((file_name or "").replace("\\", "/")).suffix.lower()
    by_extension = _EXTENSIONS.get(extension)
    by_mime = _MIME_TYPES.get(mime)
    claimed = by_mime or by_extension
    if content.startswith(_ZIP):
        office = _office_kind(content)
        if office is not None:
            return office
        if claimed in _OFFICE_NAMES:
            raise _not_readable(claimed)
        raise _unsupported(_claimed_unsupported(mime, extension) or "a ZIP archive")
    signature = _signature(content)
    if signature is not None:
        raise _unsupported(signature)
    if claimed in _OFFICE_NAMES:
        raise _not_readable(claimed)  # named .docx/.pptx, but not a ZIP at all
    if by_mime == "text" and by_extension == "markdown":
        return "markdown"  # browsers often send Markdown files as text/plain
    if by_mime is not None:
        return by_mime
    for prefix, what in _UNSUPPORTED_MIME:
        if mime.startswith(prefix):
            raise _unsupported(what)
    if by_extension is not None:
        return by_extension
    if extension in _UNSUPPORTED_EXTENSIONS:
        raise _unsupported(_UNSUPPORTED_EXTENSIONS[extension])
    if b"\x00" in content[:4096] and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _unsupported("a binary file")
    return "text"


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise MaterialUnreadable("The text file's encoding could not be read.") from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _clean(text: str) -> str:
    return normalise_text(_CONTROL.sub("", text))


def _opened(reader: PdfReader) -> bool:
    """Owner-password-only PDFs open with an empty user password; others stay locked."""
    try:
        return bool(reader.decrypt(""))
    except DependencyError:
        return False


def _page_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def _pdf_segments(content: bytes, limits: ExtractionLimits) -> _Parsed:
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not _opened(reader):
            raise MaterialUnreadable(
                "The PDF is password-protected: upload a copy without a password."
            )
        pages = list(reader.pages)
    except MaterialUnreadable:
        raise
    except Exception as error:  # noqa: BLE001 - any parser failure means "not a readable PDF"
        raise MaterialUnreadable(
            f"The file is not a readable PDF ({type(error).__name__})."
        ) from None
    if len(pages) > limits.max_pages:
        raise MaterialUnreadable(
            f"The PDF has {len(pages)} pages; a material can have at most {limits.max_pages}."
            " Split it into smaller files."
        )
    segments: list[Segment] = []
    blank: list[int] = []
    damaged: list[int] = []
    for number, page in enumerate(pages[: limits.text_pages], start=1):
        try:
            text = _clean(page.extract_text() or "")
        except Exception:  # noqa: BLE001 - one damaged page should not lose the others
            damaged.append(number)
            continue
        if text:
            segments.append(Segment("page", number, text))
        else:
            blank.append(number)
    warnings: list[str] = []
    if len(pages) > limits.text_pages:
        warnings.append(
            f"Only the first {limits.text_pages} of {len(pages)} pages were read;"
            " split the file to use the rest."
        )
    if damaged:
        warnings.append(f"Pages that could not be read: {_page_list(damaged)}.")
    if blank and segments:
        warnings.append(f"Pages without text (scans are not read): {_page_list(blank)}.")
    return _Parsed(segments, warnings)


def _unpacked_size_checked(content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        raise MaterialUnreadable(
            f"The file unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB;"
            " remove large embedded media and upload it again."
        )


_HEADING_STYLE = re.compile(r"^(?:Heading ([1-6])|Title)$")


def _docx_table_lines(table: Table) -> list[str]:
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = _clean(cell.text).replace("\n", " ")
            # A merged cell is returned once per grid column it spans.
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return lines


def _docx_blocks(parent: Any, container: Any) -> Iterator[Paragraph | Table]:
    """Body paragraphs and tables in document order, including those inside content controls
    (`w:sdt`, common in templates), which python-docx's own iteration skips."""
    for element in container.iterchildren():
        if element.tag == qn("w:p"):
            yield Paragraph(element, parent)
        elif element.tag == qn("w:tbl"):
            yield Table(element, parent)
        elif element.tag == qn("w:sdt"):
            for inner in element.iterchildren(qn("w:sdtContent")):
                yield from _docx_blocks(parent, inner)


def _docx_segments(content: bytes) -> _Parsed:
    """Paragraph blocks split at empty paragraphs; tables as rows of `a | b` lines; headings
    as Markdown headings, so chunks keep the section they sit under."""
    document = docx.Document(io.BytesIO(content))
    blocks: list[list[str]] = [[]]
    body = document.element.body
    for item in _docx_blocks(document, body):
        if isinstance(item, Table):
            blocks[-1].extend(_docx_table_lines(item))
            continue
        text = _clean(item.text)
        if not text:
            if blocks[-1]:
                blocks.append([])
            continue
        style = item.style.name if item.style is not None else ""
        heading = _HEADING_STYLE.match(style or "")
        if heading:
            text = "#" * int(heading.group(1) or 1) + " " + text.replace("\n", " ")
        blocks[-1].append(text)
    texts = ["\n".join(block) for block in blocks if block]
    return _Parsed([Segment("paragraph", n, t) for n, t in enumerate(texts, start=1)], [])


def _pptx_shape_lines(shape: Any) -> list[str]:
    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [line for inner in shape.shapes for line in _pptx_shape_lines(inner)]
    lines: list[str] = []
    if shape.has_text_frame:
        lines.extend(paragraph.text for paragraph in shape.text_frame.paragraphs)
    if getattr(shape, "has_table", False) and shape.has_table:
        for row in shape.table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            lines.append(" | ".join(cell for cell in cells if cell))
    return lines


def _pptx_segments(content: bytes) -> _Parsed:
    """One segment per slide with text, in the presentation's slide order."""
    presentation = pptx.Presentation(io.BytesIO(content))
    segments: list[Segment] = []
    for number, slide in enumerate(presentation.slides, start=1):
        lines = [line for shape in slide.shapes for line in _pptx_shape_lines(shape)]
        text = _clean("\n".join(line for line in lines if line.strip()))
        if text:
            segments.append(Segment("slide", number, text))
    return _Parsed(segments, [])


def _parse(source_type: SourceType, content: bytes, limits: ExtractionLimits) -> _Parsed:
    if source_type == "pdf":
        return _pdf_segments(content, limits)
    try:
        _unpacked_size_checked(content)
        if source_type == "docx":
            return _docx_segments(content)
        return _pptx_segments(content)
    except MaterialUnreadable:
        raise
    except Exception:  # noqa: BLE001 - any parser failure means "not a readable file"
        raise _not_readable(source_type) from None


_WHAT = {"pdf": "the PDF", "docx": "the Word document", "pptx": "the presentation"}


def _parse_child(
    source_type: SourceType, content: bytes, limits: ExtractionLimits, results: Connection
) -> None:
    """In the child process: send `(True, (segments, warnings))` or `(False, reason)`."""
    outcome: tuple[bool, Any]
    try:
        parsed = _parse(source_type, content, limits)
        segments = [(s.kind, s.index, s.text) for s in parsed.segments]
        outcome = (True, (segments, parsed.warnings))
    except MaterialUnreadable as error:
        outcome = (False, str(error))
    except BaseException as error:  # noqa: BLE001 - e.g. MemoryError: the parent explains
        outcome = (
            False,
            f"{_WHAT[source_type].capitalize()} could not be read ({type(error).__name__}).",
        )
    results.send(outcome)
    results.close()


def _process_context() -> BaseContext:
    # A fork server forks children from a clean, single-threaded process that has already
    # imported the parsers: safe beside the server's threads, and fast to start per material.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def _parse_limited(source_type: SourceType, content: bytes, limits: ExtractionLimits) -> _Parsed:
    """`_parse` in a child process that is killed after `limits.max_seconds`."""
    what = _WHAT[source_type]
    context = _process_context()
    results, sender = context.Pipe(duplex=False)
    child = context.Process(  # type: ignore[attr-defined]
        target=_parse_child, args=(source_type, content, limits, sender), daemon=True
    )
    child.start()
    sender.close()
    try:
        if not results.poll(limits.max_seconds):
            raise MaterialUnreadable(
                f"Reading {what} took longer than {limits.max_seconds:g} seconds, the limit"
                " per material: it may be damaged or unusually complex. Try re-saving or"
                " splitting it."
            )
        try:
            succeeded, value = results.recv()
        except EOFError:
            raise MaterialUnreadable(
                f"{what.capitalize()} could not be read (the reader stopped unexpectedly)."
            ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=5)
        results.close()
    if not succeeded:
        raise MaterialUnreadable(value)
    segments, warnings = value
    return _Parsed([Segment(kind, index, text) for kind, index, text in segments], warnings)


_EMPTY = {
    "pdf": "The PDF has no extractable text (is it a scan?)",
    "docx": "The Word document has no text.",
    "pptx": "The presentation has no text on any slide.",
}


def extract_text(
    content: bytes,
    *,
    mime_type: str | None,
    file_name: str | None,
    limits: ExtractionLimits | None = None,
) -> ExtractedText:
    """The material's text and segments, cleaned of invisible characters, and its format."""
    if len(content) > MAX_BYTES:
        raise MaterialUnreadable(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if not content.strip():
        raise MaterialUnreadable("The file is empty.")
    source_type = detect_type(content, mime_type=mime_type, file_name=file_name)
    if source_type in _WHAT:
        parsed = _parse_limited(source_type, content, limits or ExtractionLimits())
        if not parsed.segments:
            raise MaterialUnreadable(_EMPTY[source_type])
        return ExtractedText(
            "\n\n".join(segment.text for segment in parsed.segments),
            source_type,
            tuple(parsed.segments),
            tuple(parsed.warnings),
        )
    text = _clean(_decode(content))
    if not text:
        raise MaterialUnreadable("The file has no readable text.")
    return ExtractedText(text, source_type, (Segment("paragraph", 1, text),))
