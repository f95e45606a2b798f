"""Scorers for data questions: a renderable chart, the right numbers, and no data when the
question cannot (or must not) be answered.

A case is `{"id", "question", "as_of", "expected": {"data": [{label, value}], ...},
"unanswerable": bool}`; the payload is the target's `{"spec", "query", ...}`.

- `spec_valid`: the spec is a chart by the data-query rules (2 to 8 points, or the one
  `No data available` point).
- `exact_data_match`: the same labels in the same order, every value within 0.05.
- `no_data_when_unanswerable`: a case marked unanswerable gets the no-data chart (other cases
  score 1: this metric only judges refusals).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from evals.scorers import Score, Scorer
from tools.payloads.canvas import NO_DATA_LABEL, validate_chart_spec

TOLERANCE: Final = 0.05


def _spec(payload: Any) -> Any:
    return payload.get("spec") if isinstance(payload, Mapping) else None


def _points(data: Any) -> list[tuple[Any, Any]] | None:
    if not isinstance(data, list) or not all(isinstance(p, Mapping) for p in data):
        return None
    return [(p.get("label"), p.get("value")) for p in data]


def _close(got: Any, want: Any) -> bool:
    numbers = (int, float)
    if isinstance(got, bool) or not isinstance(got, numbers) or not isinstance(want, numbers):
        return False
    return math.isfinite(got) and abs(float(got) - float(want)) <= TOLERANCE


def spec_valid(case: Mapping[str, Any], payload: Any) -> Score:
    errors = validate_chart_spec(_spec(payload), min_points=2, max_points=8, allow_no_data=True)
    return Score(0.0 if errors else 1.0, errors[:5])


def exact_data_match(case: Mapping[str, Any], payload: Any) -> Score:
    spec = _spec(payload)
    got = _points(spec.get("data")) if isinstance(spec, Mapping) else None
    want = _points(case["expected"]["data"])
    if got is None or want is None:
        return Score(0.0, ["the payload has no chart data to compare"])
    if [label for label, _ in got] != [label for label, _ in want]:
        return Score(0.0, [f"labels {[g for g, _ in got]} != expected {[w for w, _ in want]}"])
    wrong = [
        f"{label}: {value!r} != {expected!r}"
        for (label, value), (_, expected) in zip(got, want, strict=True)
        if not _close(value, expected)
    ]
    return Score(0.0 if wrong else 1.0, wrong)


def _is_no_data(spec: Any) -> bool:
    points = _points(spec.get("data")) if isinstance(spec, Mapping) else None
    return points == [(NO_DATA_LABEL, 0)]


def no_data_when_unanswerable(case: Mapping[str, Any], payload: Any) -> Score:
    if not case.get("unanswerable"):
        return Score(1.0, [])
    if _is_no_data(_spec(payload)):
        return Score(1.0, [])
    return Score(0.0, ["an unanswerable question got a chart with data instead of no data"])


DATA_QUERY_SCORERS: Final[Mapping[str, Scorer]] = {
    "spec_valid": spec_valid,
    "exact_data_match": exact_data_match,
    "no_data_when_unanswerable": no_data_when_unanswerable,
}
