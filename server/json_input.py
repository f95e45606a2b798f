"""The one JSON reader for request bodies: standard JSON only, within limits a route can use.

`json.loads` alone accepts what later breaks a request: `NaN` and `Infinity` (not JSON, and
never encodable in a response), numbers of thousands of digits (`int()` refuses over 4,300),
nesting deep enough to exhaust the parser's recursion, and strings carrying NUL (PostgreSQL text
refuses it) or unpaired surrogates (not Unicode: no response or database can encode them).
Each is refused here, before any route runs, with a message naming the problem:
syntax and size problems are 400 `invalid_json`, text no store can keep is 422
`validation_error` naming the field.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any, Final

from server.errors import ApiError

MAX_DEPTH: Final = 64
"""Arrays and objects nested deeper than this are refused (the bodies we read use under 10)."""
MAX_NUMBER_CHARS: Final = 100
"""A number literal longer than this is refused; no field needs more than 20 digits."""

# Only escapes can put NUL or a surrogate into a decoded string: raw control characters are a
# syntax error and raw surrogates are not UTF-8. Valid pairs match too; the walk tells them apart.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _invalid(reason: str) -> ApiError:
    return ApiError(400, "invalid_json", f"The request body is not valid JSON: {reason}.")


def _constant(name: str) -> Any:
    raise _invalid(f"{name} is not a JSON number")


def _integer(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _invalid(f"a number has more than {MAX_NUMBER_CHARS} digits")
    return int(literal)


def _float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _invalid(f"a number has more than {MAX_NUMBER_CHARS} characters")
    value = float(literal)
    if not math.isfinite(value):
        raise _invalid(f"the number {literal} is too large to represent")
    return value


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count).

    A linear scan, so a hostile body costs no recursion (the parser would recurse per level).
    """
    steps = (_DEPTH_STEP[b] for b in _BRACKET.findall(_STRING.sub('""', text)))
    return max(accumulate(steps), default=0)


def _too_deep(text: str) -> bool:
    # Fewer opening brackets than the limit cannot nest past it: most bodies stop here.
    return text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH


def _text_problem(value: str, what: str) -> str | None:
    if "\x00" in value:
        return f"{what} must not contain NUL characters (\\u0000)"
    surrogate = _SURROGATE.search(value)
    if surrogate is not None:
        code = f"\\u{ord(surrogate.group()):04x}"
        return f"{what} contains an unpaired surrogate ({code}), which is not valid Unicode"
    return None


def _check_text(document: Any) -> None:
    """422 naming the first string (value or key) that no response or store can encode."""
    pending: list[tuple[tuple[str, ...], Any]] = [((), document)]
    while pending:
        path, value = pending.pop()
        problem = None
        if isinstance(value, str):
            problem = _text_problem(value, "text")
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _text_problem(key, "a field name")
                if problem is not None:
                    break
                pending.append(((*path, key), item))
        elif isinstance(value, list):
            pending.extend(((*path, str(n)), item) for n, item in enumerate(value))
        if problem is not None:
            field = ".".join(path) or "body"
            raise ApiError(422, "validation_error", f"{field}: {problem}.")


def parse_json(raw: bytes) -> Any:
    """The decoded body; hostile input is an `ApiError` (400 or 422), never anything else."""
    try:
        text = raw.decode(json.detect_encoding(raw))
    except (UnicodeDecodeError, LookupError):
        raise _invalid("it is not UTF-8 text") from None
    if not text.strip():
        raise ApiError(422, "validation_error", "The request body must be a JSON object.")
    if _too_deep(text):
        raise _invalid(f"arrays and objects are nested deeper than {MAX_DEPTH} levels")
    try:
        document = json.loads(
            text, parse_constant=_constant, parse_int=_integer, parse_float=_float
        )
    except json.JSONDecodeError as error:
        raise _invalid(f"{error.msg.lower()} at line {error.lineno} column {error.colno}") from None
    except (RecursionError, ValueError):
        # Backstops: the checks above should leave nothing for these to catch.
        raise _invalid("it could not be parsed") from None
    if _SUSPECT_ESCAPE.search(text):
        _check_text(document)
    return document
