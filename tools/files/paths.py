"""Object paths in the platform's convention, and the checks every store applies to a path.

The web app stores a class's uploads at `classes/{class_id}/{material_id}/{name}`, a guest's
at `classes/{class_id}/sandboxes/{sandbox_id}/{material_id}/{name}`, with the file name
sanitised: every character other than an ASCII letter, a digit, `.`, `_` or `-` becomes `_`,
runs of `_` collapse to one, the name is cut to 120 characters, and an empty name becomes
`material`. stemgraph builds the same paths, so a file the web app uploaded and one uploaded
through `materials/create` sit side by side.
"""

from __future__ import annotations

import re
import uuid

MAX_NAME_CHARS = 120
FALLBACK_NAME = "material"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_UNDERSCORES = re.compile(r"_{2,}")
_MAX_PATH_CHARS = 1024


def sanitize_file_name(name: str | None) -> str:
    """The platform's sanitised file name."""
    cleaned = _UNDERSCORES.sub("_", _UNSAFE.sub("_", name or ""))[:MAX_NAME_CHARS]
    # A name of dots only ("." or "..") would be a dot segment, which no object key may be;
    # the web app never produces one (it requires an extension), so this changes nothing there.
    if not cleaned.strip("."):
        return FALLBACK_NAME
    return cleaned


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f"{what} must be a UUID, not {value!r}") from None


def class_material_path(
    class_id: str, material_id: str, file_name: str | None, *, sandbox_id: str | None = None
) -> str:
    """Where a material's file is stored: the platform's path for a class (or guest) upload."""
    klass = _uuid(class_id, "class_id")
    material = _uuid(material_id, "material_id")
    name = sanitize_file_name(file_name)
    if sandbox_id is None:
        return f"classes/{klass}/{material}/{name}"
    sandbox = _uuid(sandbox_id, "sandbox_id")
    return f"classes/{klass}/sandboxes/{sandbox}/{material}/{name}"


def check_object_path(path: str) -> tuple[str, ...]:
    """The path's segments; `ValueError` for a path no store should touch.

    Rejected: empty, absolute, over 1,024 characters, empty/`.`/`..` segments, backslashes
    and control characters — so a stored path can never step outside the bucket (or, for the
    local store, the data dir).
    """
    if not path or len(path) > _MAX_PATH_CHARS:
        raise ValueError("An object path must have 1 to 1024 characters.")
    if path.startswith("/") or "\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise ValueError(f"Not a valid object path: {path!r}")
    segments = tuple(path.split("/"))
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"Not a valid object path: {path!r}")
    return segments
