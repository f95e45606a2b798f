"""The web app's reading rules, one helper each.

Each helper checks a value the way the web app's parser uses it and fails with the JSON path of
the field, so a broken rule reads as "data.response.answer: expected a non-null string, got
None". `read_ok` and `read_error` read the envelope the way its fetch wrapper does.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import httpx

_SENTENCE_END = (".", "!", "?")
_TRACEBACK = re.compile(r"Traceback|File \"|\bat 0x[0-9a-f]+|<[a-z]+ object", re.IGNORECASE)


def _fail(where: str, expected: str, value: Any) -> AssertionError:
    shown = repr(value)
    return AssertionError(
        f"{where}: expected {expected}, got {shown[:200]}{'…' if len(shown) > 200 else ''}"
    )


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The JSON envelope, with the request id echoed in the header (every `/v1` answer)."""
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/json"), (
        f"HTTP {response.status_code}: expected a JSON body, got {content_type!r}: "
        f"{response.text[:300]}"
    )
    body = response.json()
    assert isinstance(body, dict) and set(body) >= {"ok", "data", "error", "meta"}, body
    request_id = non_null_str(mapping(body["meta"], "meta").get("request_id"), "meta.request_id")
    assert response.headers.get("x-request-id") == request_id, "x-request-id is not echoed"
    return body


def read_ok(response: httpx.Response) -> Any:
    """What the web app counts as success: 2xx, JSON, `ok: true` and a truthy `data`."""
    assert 200 <= response.status_code < 300, f"HTTP {response.status_code}: {response.text[:500]}"
    body = envelope(response)
    assert body["ok"] is True, body
    assert body["error"] is None, body
    assert body["data"], f"data is not truthy: {body['data']!r}"
    return body["data"]


def readable(message: Any, where: str = "error.message") -> str:
    """A sentence the web app can show as it is: text, capitalised, ending in punctuation,
    without a stack trace or an object's repr."""
    text = non_null_str(message, where).strip()
    if not text:
        raise _fail(where, "a sentence", message)
    if not (text[0].isupper() or text[0].isdigit() or "`" in text[:40] or ":" in text[:40]):
        raise _fail(where, "a sentence", text)
    if not text.endswith(_SENTENCE_END) or _TRACEBACK.search(text):
        raise _fail(where, "a readable sentence", text)
    return text


def read_error(response: httpx.Response, status: int, code: str) -> str:
    """A failure as the web app shows it: the status, the code and a readable message."""
    assert response.status_code == status, f"HTTP {response.status_code}: {response.text[:500]}"
    body = envelope(response)
    assert body["ok"] is False and body["data"] is None, body
    error = mapping(body["error"], "error")
    assert error.get("code") == code, error
    return readable(error.get("message"))


# --- values --------------------------------------------------------------------------------------


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "an object", value)
    return value


def array(value: Any, where: str, *, min_len: int = 0, max_len: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, "a list", value)
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        raise _fail(where, f"{min_len}..{max_len if max_len is not None else 'n'} items", value)
    return value


def non_null_str(value: Any, where: str) -> str:
    """A string the web app trims or renders: never null."""
    if not isinstance(value, str):
        raise _fail(where, "a non-null string", value)
    return value


def text(value: Any, where: str) -> str:
    """A string with something in it after trimming."""
    found = non_null_str(value, where)
    if not found.strip():
        raise _fail(where, "non-empty text", value)
    return found


def optional_str(value: Any, where: str) -> str | None:
    return None if value is None else non_null_str(value, where)


def is_int(value: Any, where: str) -> int:
    """A whole number for an `int` column (a bool or 3.0 is not)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(where, "an integer", value)
    return value


def optional_int(value: Any, where: str) -> int | None:
    return None if value is None else is_int(value, where)


def number(value: Any, where: str) -> float:
    """A finite JSON number the web app does arithmetic on (never null, never a string)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _fail(where, "a finite number", value)
    return float(value)


def fraction(value: Any, where: str) -> float:
    """A number in 0..1 (a rate or a score the web app turns into a percentage)."""
    result = number(value, where)
    if not 0.0 <= result <= 1.0:
        raise _fail(where, "a number in 0..1", value)
    return result


def optional_fraction(value: Any, where: str) -> float | None:
    return None if value is None else fraction(value, where)


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "a boolean", value)
    return value


def one_of(value: Any, options: Collection[Any], where: str) -> Any:
    if value not in options:
        raise _fail(where, f"one of {sorted(map(str, options))}", value)
    return value


def uuid_str(value: Any, where: str) -> str:
    found = non_null_str(value, where)
    try:
        uuid.UUID(found)
    except ValueError:
        raise _fail(where, "a UUID string", value) from None
    return found


def timestamp(value: Any, where: str) -> str:
    """An ISO-8601 timestamp string the web app parses and sorts by."""
    found = non_null_str(value, where)
    try:
        datetime.fromisoformat(found.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(where, "an ISO-8601 timestamp", value) from None
    return found


def optional_timestamp(value: Any, where: str) -> str | None:
    return None if value is None else timestamp(value, where)


def fields(value: Any, where: str, required: Collection[str]) -> Mapping[str, Any]:
    """An object holding at least `required` keys."""
    found = mapping(value, where)
    missing = sorted(set(required) - set(found))
    if missing:
        raise _fail(where, f"the fields {missing}", found)
    return found


def absent_or(value: Mapping[str, Any], key: str, where: str) -> Any:
    """An optional field is omitted, never sent as null."""
    if key in value and value[key] is None:
        raise _fail(f"{where}.{key}", "the field omitted rather than null", None)
    return value.get(key)
