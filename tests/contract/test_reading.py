"""The reading rules fail on what the web app's parser would choke on (no server needed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.contract.reading import (
    absent_or,
    boolean,
    fraction,
    is_int,
    non_null_str,
    number,
    read_error,
    read_ok,
    readable,
    text,
    timestamp,
    uuid_str,
)


def answer(
    status: int, body: Any, *, request_id: str = "r-1", raw: bytes | None = None
) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    kind = "text/html" if raw is not None else "application/json"
    headers = {"content-type": kind, "x-request-id": request_id}
    return httpx.Response(status, content=content, headers=headers)


def envelope(data: Any, *, ok: bool = True, error: Any = None) -> dict[str, Any]:
    return {"ok": ok, "data": data, "error": error, "meta": {"request_id": "r-1"}}


def test_read_ok_accepts_what_the_web_app_counts_as_success() -> None:
    assert read_ok(answer(200, envelope({"a": 1}))) == {"a": 1}


@pytest.mark.parametrize(
    "response",
    [
        answer(200, envelope(None)),  # data must be truthy
        answer(200, envelope({})),
        answer(200, envelope({"a": 1}, ok=False)),
        answer(502, envelope({"a": 1})),
        answer(200, envelope({"a": 1}), request_id="other"),  # the id must be echoed
        answer(200, None, raw=b"<html>oops</html>"),
    ],
)
def test_read_ok_refuses_anything_else(response: httpx.Response) -> None:
    with pytest.raises(AssertionError):
        read_ok(response)


def test_read_error_wants_the_code_and_a_readable_message() -> None:
    failed = envelope(None, ok=False, error={"code": "quiz_error", "message": "No model answered."})
    assert read_error(answer(502, failed), 502, "quiz_error") == "No model answered."
    with pytest.raises(AssertionError):
        read_error(answer(502, failed), 502, "provider_error")
    for message in (
        "",
        "   ",
        "lowercase and no stop",
        'Traceback (most recent call last): File "x".',
    ):
        bad = envelope(None, ok=False, error={"code": "quiz_error", "message": message})
        with pytest.raises(AssertionError):
            read_error(answer(502, bad), 502, "quiz_error")


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (is_int, True),
        (is_int, 3.0),
        (is_int, None),
        (number, "1"),
        (number, float("nan")),
        (number, None),
        (number, False),
        (fraction, 67.5),
        (boolean, 0),
        (non_null_str, None),
        (text, "  "),
        (uuid_str, "not-a-uuid"),
        (timestamp, "yesterday"),
        (timestamp, None),
    ],
)
def test_value_rules_fail_on_values_the_web_app_cannot_use(
    check: Callable[[Any, str], Any], value: Any
) -> None:
    with pytest.raises(AssertionError, match="data.field"):
        check(value, "data.field")


def test_optional_fields_are_omitted_not_null() -> None:
    assert absent_or({"title": "T"}, "xLabel", "data.spec") is None
    assert absent_or({"xLabel": "Time"}, "xLabel", "data.spec") == "Time"
    with pytest.raises(AssertionError, match=r"data\.spec\.xLabel"):
        absent_or({"xLabel": None}, "xLabel", "data.spec")


def test_readable_accepts_field_led_validation_messages() -> None:
    assert readable("question_count: Input should be greater than or equal to 1.")
