"""The quiz payload: `{questions:[{question, choices[4], answer, explanation}]}`.

Besides the contract, no text may carry an instruction planted in the material
(`tools.payloads.injection`).
"""

from __future__ import annotations

from typing import Any

from tools.payloads.injection import Injected, injection_errors
from tools.text import fold

CHOICES_PER_QUESTION = 4


def validate_quiz(payload: Any, *, question_count: int, material: str = "") -> list[str]:
    """Return every contract violation in `payload`; an empty list means the quiz is valid.

    `material` is what the quiz was written from: no question may carry an instruction planted
    in it (without it, only text that reads as an injection by itself is refused).
    """
    if not isinstance(payload, dict):
        return ["The quiz must be a JSON object with a `questions` list."]
    questions = payload.get("questions")
    if not isinstance(questions, list) or not questions:
        return ["`questions` must be a non-empty list."]
    errors: list[str] = []
    if len(questions) > question_count:
        errors.append(
            f"There are {len(questions)} questions; at most {question_count} are allowed."
        )
    seen: set[str] = set()
    for index, item in enumerate(questions, start=1):
        where = f"Question {index}"
        if not isinstance(item, dict):
            errors.append(f"{where} must be an object.")
            continue
        question = item.get("question")
        choices = item.get("choices")
        answer = item.get("answer")
        explanation = item.get("explanation")
        if not isinstance(question, str) or not question.strip():
            errors.append(f"{where}: `question` must be non-empty text.")
        else:
            key = fold(question)
            if key in seen:
                errors.append(f"{where} duplicates an earlier question.")
            seen.add(key)
        if not isinstance(choices, list) or len(choices) != CHOICES_PER_QUESTION:
            errors.append(f"{where}: `choices` must hold exactly {CHOICES_PER_QUESTION} options.")
        elif not all(isinstance(c, str) and c.strip() for c in choices):
            errors.append(f"{where}: every choice must be non-empty text.")
        elif len({fold(c) for c in choices}) != CHOICES_PER_QUESTION:
            errors.append(f"{where}: the choices must be distinct.")
        elif not isinstance(answer, str) or answer not in choices:
            errors.append(f"{where}: `answer` must equal one of the choices exactly.")
        if not isinstance(explanation, str) or not explanation.strip():
            errors.append(f"{where}: `explanation` must be non-empty text.")
        errors += injection_errors(item, Injected.of(material), where=where)
    return errors
