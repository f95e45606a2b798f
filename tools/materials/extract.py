"""Text out of an uploaded material: plain text, Markdown or PDF (pypdf, pure Python).

The type is decided by the MIME type, then the file extension, then the first bytes; a binary
signature (`%PDF-`, PNG, ZIP…) wins over a text type a browser guessed. Anything that cannot be
read raises `MaterialUnreadable` with a reason a teacher can act on: retrying will not help.

PDFs are parsed in a child process under `ExtractionLimits` (pages and seconds per material):
a small file can unpack into a content stream that takes pypdf minutes of CPU, and a thread
cannot be stopped, so the child is killed at the time limit.
"""

from __future__ import annotations

import io
import multiprocessing
import re
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from pathlib import PurePosixPath
from typing import Literal

from pypdf import PdfReader
from pypdf.errors import DependencyError

from tools.text import normalise_text

MAX_BYTES = 20 * 1024 * 1024
SourceType = Literal["pdf", "markdown", "text"]

_SUPPORTED = "Upload a PDF, Markdown or plain-text file."
_MIME_TYPES: dict[str, SourceType] = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/csv": "text",
}
_EXTENSIONS: dict[str, SourceType] = {
    ".pdf": "pdf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".csv": "text",
}
# Binary signatures: what the file is, in words.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
    (b"PK\x03\x04", "a ZIP archive (Word, PowerPoint and Excel files are ZIP archives)"),
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
    ".docx": "a Word document",
    ".doc": "a Word document",
    ".pptx": "a PowerPoint presentation",
    ".ppt": "a PowerPoint presentation",
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
    policy retries it."""


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    """Per material: a PDF with more pages, or whose text takes longer to extract, fails.
    The server sets them from `STEMGRAPH_MATERIAL_MAX_PAGES` / `..._EXTRACT_SECONDS`."""

    max_pages: int = 200
    max_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class ExtractedText:
    text: str
    source_type: SourceType


def _unsupported(what: str) -> MaterialUnreadable:
    return MaterialUnreadable(f"This file looks like {what}, which can't be read yet. {_SUPPORTED}")


def _signature(content: bytes) -> str | None:
    head = content[:8]
    return next((what for magic, what in _SIGNATURES if head.startswith(magic)), None)


def detect_type(content: bytes, *, mime_type: str | None, file_name: str | None) -> SourceType:
    """The material's format; raises `MaterialUnreadable` for a type that can't be read."""
    if content[:1024].lstrip()[:5] == b"%PDF-":
        return "pdf"
    signature = _signature(content)
    if signature is not None:
        raise _unsupported(signature)
    mime = (mime_type or "").split(";", 1)[0].strip().lower()
    extension = PurePosixPath((file_name or "").replace("\\", "/")).suffix.lower()
    by_extension = _EXTENSIONS.get(extension)
    by_mime = _MIME_TYPES.get(mime)
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


def _pdf_text(content: bytes, max_pages: int) -> str:
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
    if len(pages) > max_pages:
        raise MaterialUnreadable(
            f"The PDF has {len(pages)} pages; a material can have at most {max_pages}."
            " Split it into smaller files."
        )
    texts: list[str] = []
    for page in pages:
        try:
            texts.append(_clean(page.extract_text() or ""))
        except Exception:  # noqa: BLE001 - one damaged page should not lose the others
            continue
    # Page breaks stay as blank lines, so no paragraph runs across two pages.
    return "\n\n".join(text for text in texts if text)


def _pdf_child(content: bytes, max_pages: int, results: Connection) -> None:
    """In the child process: send `(True, text)` or `(False, reason)` back, then exit."""
    try:
        outcome: tuple[bool, str] = (True, _pdf_text(content, max_pages))
    except MaterialUnreadable as error:
        outcome = (False, str(error))
    except BaseException as error:  # noqa: BLE001 - e.g. MemoryError: the parent explains
        outcome = (False, f"The PDF could not be read ({type(error).__name__}).")
    results.send(outcome)
    results.close()


def _process_context() -> BaseContext:
    # A fork server forks children from a clean, single-threaded process that has already
    # imported pypdf: safe beside the server's threads, and fast to start per material.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def _pdf_text_limited(content: bytes, limits: ExtractionLimits) -> str:
    """`_pdf_text` in a child process that is killed after `limits.max_seconds`."""
    context = _process_context()
    results, sender = context.Pipe(duplex=False)
    child = context.Process(  # type: ignore[attr-defined]
        target=_pdf_child, args=(content, limits.max_pages, sender), daemon=True
    )
    child.start()
    sender.close()
    try:
        if not results.poll(limits.max_seconds):
            raise MaterialUnreadable(
                f"Reading the PDF took longer than {limits.max_seconds:g} seconds, the limit"
                " per material: it may be damaged or unusually complex. Try re-saving or"
                " splitting it."
            )
        try:
            succeeded, value = results.recv()
        except EOFError:
            raise MaterialUnreadable(
                "The PDF could not be read (the reader stopped unexpectedly)."
            ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=5)
        results.close()
    if not succeeded:
        raise MaterialUnreadable(value)
    return str(value)


def extract_text(
    content: bytes,
    *,
    mime_type: str | None,
    file_name: str | None,
    limits: ExtractionLimits | None = None,
) -> ExtractedText:
    """The material's text, cleaned of invisible characters, and its detected format."""
    if len(content) > MAX_BYTES:
        raise MaterialUnreadable(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if not content.strip():
        raise MaterialUnreadable("The file is empty.")
    source_type = detect_type(content, mime_type=mime_type, file_name=file_name)
    if source_type == "pdf":
        text = _pdf_text_limited(content, limits or ExtractionLimits())
        if not text:
            raise MaterialUnreadable("The PDF has no extractable text (is it a scan?)")
        return ExtractedText(text, "pdf")
    text = _clean(_decode(content))
    if not text:
        raise MaterialUnreadable("The file has no readable text.")
    return ExtractedText(text, source_type)
