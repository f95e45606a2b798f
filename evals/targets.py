"""TEMPORARY stand-in written by the evals helper; the integrator owns and replaces this file.

`quiz_target` builds a quiz with the offline generator so the suite runs without a model.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any


async def quiz_target(case: dict[str, Any]) -> dict[str, Any]:
    """The quiz payload for one dataset case, from `tools.offline.quiz.offline_quiz`."""
    module = importlib.import_module("tools.offline.quiz")
    result = module.offline_quiz(
        case["passage"],
        question_count=case["question_count"],
        instructions=case.get("instructions", ""),
    )
    if inspect.isawaitable(result):
        result = await result
    return dict(result)
