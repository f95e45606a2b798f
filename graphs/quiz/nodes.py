"""The quiz graph's nodes: the shared study-set nodes with the quiz's prompts and rules."""

from __future__ import annotations

from typing import Any

from graphs.quiz.state import QuizState
from graphs.shared import budgets
from graphs.shared.study_set import StudySet
from prompts import quiz as prompts
from tools.offline.quiz import offline_quiz
from tools.payloads.quiz import validate_quiz
from tools.text import fold


def _tidy(candidate: dict[str, Any]) -> dict[str, Any]:
    """Trim stray whitespace the model added; validation judges what is left."""
    questions = candidate.get("questions")
    if not isinstance(questions, list):
        return candidate
    tidy = []
    for item in questions:
        if isinstance(item, dict):
            item = {
                key: value.strip() if isinstance(value, str) else value
                for key, value in item.items()
            }
            if isinstance(item.get("choices"), list):
                item["choices"] = [c.strip() if isinstance(c, str) else c for c in item["choices"]]
        tidy.append(item)
    return {"questions": tidy}


def _question_key(item: dict[str, Any]) -> str:
    return fold(item["question"])


QUIZ = StudySet[QuizState](
    what="quiz",
    purpose="quiz questions",
    items_key="questions",
    count_field="question_count",
    prompts=prompts,
    validator=validate_quiz,
    offline=offline_quiz,
    tidy=_tidy,
    item_key=_question_key,
    # The quiz's prompt puts the material between <material> tags.
    material_tag="material",
    budget=budgets.QUIZ,
)
