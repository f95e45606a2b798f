"""The JSON reader every route uses: hostile bodies are 400/422 with a reason, never a crash.

Examples pin each finding; hypothesis fuzzes the reader with arbitrary bytes, arbitrary JSON
documents and mutated ones.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.errors import ApiError
from server.json_input import MAX_DEPTH, MAX_NUMBER_CHARS, nesting_depth, parse_json
from server.streaming import UnencodableOutput, encode_json

FUZZ = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def refused(raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_json(raw)
    error = caught.value
    assert error.status in (400, 422)
    assert error.message.endswith(".")
    return error


def test_standard_json_reads_as_before() -> None:
    raw = b'{"a": 1.5, "b": [1, -2, {"c": null, "d": true}], "e": "\\u00e9\\ud83d\\ude00"}'
    assert parse_json(raw) == {"a": 1.5, "b": [1, -2, {"c": None, "d": True}], "e": "é😀"}
    assert parse_json('{"x": "ü"}'.encode("utf-16")) == {"x": "ü"}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deep_nesting_is_invalid_json(depth: int) -> None:
    raw = b'{"orchestration_hints": ' + b"[" * depth + b"]" * depth + b"}"
    error = refused(raw)
    assert (error.status, error.code) == (400, "invalid_json")
    assert f"nested deeper than {MAX_DEPTH} levels" in error.message


def test_nesting_at_the_limit_and_brackets_in_strings_are_fine() -> None:
    at_limit = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_json(at_limit) == json.loads(at_limit)
    text = json.dumps({"message": "[[[{" * 500 + '\\"]'})
    assert parse_json(text.encode()) == json.loads(text)


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        ("9" * 4_301, "more than 100 digits"),
        ("-" + "1" * 5_000, "more than 100 digits"),
        ("1." + "0" * 200, "more than 100 characters"),
        ("1e999", "too large to represent"),
        ("-1E400", "too large to represent"),
    ],
)
def test_oversized_numbers_are_invalid_json(literal: str, reason: str) -> None:
    error = refused(b'{"question_count": ' + literal.encode() + b"}")
    assert (error.status, error.code) == (400, "invalid_json")
    assert reason in error.message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_invalid_json(constant: str) -> None:
    error = refused(b'{"tool_catalog": [' + constant.encode() + b"]}")
    assert (error.status, error.code) == (400, "invalid_json")
    assert f"{constant} is not a JSON number" in error.message


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (b'{"tool_catalog": ["\\ud800"]}', "tool_catalog.0", "unpaired surrogate (\\ud800)"),
        (b'{"tool_catalog": [{"name": "a\\udfffb"}]}', "tool_catalog.0.name", "\\udfff"),
        (b'{"message": "x\\ud83d"}', "message", "unpaired surrogate (\\ud83d)"),
        (b'{"message": "nul\\u0000here"}', "message", "NUL characters"),
        (b'{"hints": {"k\\u0000": 1}}', "hints", "a field name must not contain NUL"),
        (b'"\\udc00"', "body", "unpaired surrogate"),
    ],
)
def test_text_no_store_can_keep_is_a_validation_error_naming_the_field(
    raw: bytes, field: str, reason: str
) -> None:
    error = refused(raw)
    assert (error.status, error.code) == (422, "validation_error")
    assert error.message.startswith(f"{field}: ")
    assert reason in error.message


def test_an_escaped_backslash_before_u0000_is_plain_text() -> None:
    assert parse_json(b'{"path": "C:\\\\u0000"}') == {"path": "C:\\u0000"}


@pytest.mark.parametrize(
    "raw", [b"{not json", b'{"a": 1', b"\xff\xfe\xfd", b"[1,]", b'{"a": "\x01"}']
)
def test_malformed_bodies_are_invalid_json(raw: bytes) -> None:
    error = refused(raw)
    assert (error.status, error.code) == (400, "invalid_json")


def test_an_empty_body_asks_for_an_object() -> None:
    error = refused(b"  \n")
    assert (error.status, error.code) == (422, "validation_error")


# --- fuzzing ---------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_documents = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


def _acceptable(value: Any) -> bool:
    """What the reader must accept: finite numbers of sane length, Unicode text without NUL."""
    if isinstance(value, float):
        return math.isfinite(value) and len(repr(value)) <= MAX_NUMBER_CHARS
    if isinstance(value, int) and not isinstance(value, bool):
        return len(str(value)) <= MAX_NUMBER_CHARS
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return all(_acceptable(item) for item in value)
    if isinstance(value, dict):
        return all(_acceptable(k) and _acceptable(v) for k, v in value.items())
    return True


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_read_or_refused_in_the_envelope(raw: bytes) -> None:
    try:
        document = parse_json(raw)
    except ApiError as error:
        assert (error.status, error.code) in {(400, "invalid_json"), (422, "validation_error")}
        return
    encode_json(document)


@FUZZ
@given(_documents, st.booleans())
def test_documents_round_trip_exactly_when_acceptable(document: Any, ascii_only: bool) -> None:
    raw = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    if _acceptable(document) and _depth(document) <= MAX_DEPTH:
        parsed = parse_json(raw)
        assert parsed == document
        assert json.loads(encode_json(parsed)) == document
    else:
        with pytest.raises(ApiError):
            parse_json(raw)


@FUZZ
@given(st.integers(min_value=0, max_value=300), st.text(alphabet='[]{}"\\,:a1 ', max_size=40))
def test_nesting_depth_matches_the_parsed_structure(depth: int, noise: str) -> None:
    text = "[" * depth + json.dumps(noise) + "]" * depth
    assert nesting_depth(text) == depth == _depth(json.loads(text))
    if depth > MAX_DEPTH:
        with pytest.raises(ApiError):
            parse_json(text.encode())
    else:
        assert parse_json(text.encode()) == json.loads(text)


@FUZZ
@given(_documents, st.data())
def test_mutated_documents_never_escape_the_envelope(document: Any, data: st.DataObject) -> None:
    raw = bytearray(json.dumps(document).encode())
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(raw)))
        raw[at:at] = data.draw(
            st.sampled_from([b"[", b"{", b"NaN", b"\\u0000", b"\\ud800", b"9" * 200, b'"'])
        )
    try:
        parsed = parse_json(bytes(raw))
    except ApiError as error:
        assert error.status in (400, 422)
        return
    encode_json(parsed)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), {"x": [float("-inf")]}, "\ud800", {"\udc00": 1}]
)
def test_the_strict_encoder_refuses_what_is_not_json(value: Any) -> None:
    with pytest.raises(UnencodableOutput):
        encode_json(value)
