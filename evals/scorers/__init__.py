"""Scorers: deterministic checks that turn one generated output into a score and its reasons.

A scorer takes the dataset case and the payload the target produced and returns a `Score`. It
never raises on a malformed payload; a payload it cannot read simply scores 0 with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple


class Score(NamedTuple):
    """A value in [0, 1] (1 is perfect) and why it fell short; `reasons` is empty at 1.0."""

    value: float
    reasons: list[str]


Scorer = Callable[[Mapping[str, Any], Any], Score]
"""`scorer(case, payload) -> Score`, where `case` is one dataset row."""

__all__ = ["Score", "Scorer"]
