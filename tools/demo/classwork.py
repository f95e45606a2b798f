"""Six weeks of the demo class's work, written the way the web app writes it: each quiz is
published on its blueprint topic and assigned to the whole class; students answer its questions
(one or two attempts, 0-100 scores from the answers they chose) and the teacher reviews some of
the finished ones. Deterministic (a fixed random seed), so analytics evals are reproducible."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from tools.clock import to_iso
from tools.demo.quizzes import QUIZZES, DemoQuiz
from tools.demo.webapp import (
    assign_to_class,
    create_quiz,
    set_recipient_status,
    submit_quiz_attempt,
)
from tools.store.base import Session

_NAMESPACE: Final = uuid.UUID("5f0c7d2e-9a44-4b5c-8e61-0d3f2a9b7c11")
BASE_TIME: Final = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
SEED: Final = 20261001
# Chance that a student who used one attempt takes the second (best of attempts counts).
SECOND_ATTEMPT: Final = 0.55
# Chance that the teacher marks a finished quiz as reviewed.
REVIEWED: Final = 0.3
_TOPIC_INDEX: Final = {
    "forces-and-motion": 0,
    "energy-work-power": 1,
    "atoms-and-bonding": 2,
    "waves-and-sound": 3,
}

# (name, ability by topic: forces, energy, atoms, waves; chance of skipping an assignment)
EXTRA_STUDENTS: Final = (
    ("Amara Diallo", (0.92, 0.88, 0.90, 0.86), 0.0),
    ("Ben Carter", (0.55, 0.48, 0.62, 0.50), 0.6),
    ("Chloe Nguyen", (0.81, 0.77, 0.85, 0.74), 0.1),
    ("Dev Patel", (0.70, 0.66, 0.58, 0.63), 0.25),
    ("Elena Rossi", (0.95, 0.91, 0.93, 0.89), 0.0),
    ("Finn O'Brien", (0.45, 0.52, 0.40, 0.47), 0.55),
    ("Grace Kim", (0.78, 0.69, 0.74, 0.71), 0.15),
    ("Hugo Silva", (0.62, 0.57, 0.66, 0.52), 0.35),
    ("Isla Murray", (0.86, 0.80, 0.79, 0.83), 0.05),
    ("Jonah Levi", (0.58, 0.61, 0.49, 0.55), 0.45),
)
# The two seeded students the README names.
NAMED_STUDENT_PROFILES: Final = ((0.84, 0.79, 0.72, 0.80), 0.1), ((0.61, 0.55, 0.68, 0.58), 0.3)


def demo_id(kind: str, name: str) -> str:
    """A stable id for a seeded row, so evals and tests can name it."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


@dataclass(frozen=True, slots=True)
class DemoStudent:
    id: str
    abilities: tuple[float, ...]
    skip: float


def quiz_ids(quiz: DemoQuiz) -> tuple[str, str]:
    """The (activity id, assignment id) of a demo quiz."""
    return demo_id("activity", quiz.title), demo_id("assignment", quiz.title)


def _answers(rng: random.Random, quiz: DemoQuiz, chance: float) -> tuple[list[str], int]:
    """The choices a student picks: each right with probability `chance`, else a wrong one."""
    answers, correct = [], 0
    for question in quiz.questions:
        if rng.random() < chance:
            answers.append(question.answer)
            correct += 1
        else:
            wrong = [c for c in question.choices if c != question.answer]
            answers.append(rng.choice(wrong))
    return answers, correct


async def seed_classwork(
    db: Session,
    *,
    class_id: str,
    teacher_id: str,
    blueprint_id: str,
    topic_ids: Mapping[str, str],
    students: Sequence[DemoStudent],
) -> None:
    """Publish, assign and answer every demo quiz in `class_id` (inside the caller's
    transaction); `topic_ids` maps blueprint topic keys to their `topics` row ids."""
    rng = random.Random(SEED)
    roster = [s.id for s in students]
    for n, quiz in enumerate(QUIZZES):
        activity_id, assignment_id = quiz_ids(quiz)
        created = BASE_TIME + timedelta(days=5 * n)
        await create_quiz(
            db,
            activity_id=activity_id,
            class_id=class_id,
            blueprint_id=blueprint_id,
            topic_id=topic_ids[quiz.topic_key],
            title=quiz.title,
            teacher_id=teacher_id,
            questions=quiz.questions,
            at=to_iso(created),
        )
        await assign_to_class(
            db,
            assignment_id=assignment_id,
            class_id=class_id,
            activity_id=activity_id,
            teacher_id=teacher_id,
            student_ids=roster,
            at=to_iso(created),
            due_at=to_iso(created + timedelta(days=7)),
        )
        for student in students:
            if rng.random() < student.skip:
                continue  # never started: the recipient stays `assigned`
            attempts = 1 + (rng.random() < SECOND_ATTEMPT)
            for attempt in range(1, attempts + 1):
                ability = student.abilities[_TOPIC_INDEX[quiz.topic_key]]
                chance = ability - quiz.difficulty + 0.08 * (attempt - 1)
                answers, correct = _answers(rng, quiz, chance)
                at = created + timedelta(days=1 + attempt, hours=rng.randint(0, 20))
                await submit_quiz_attempt(
                    db,
                    assignment_id=assignment_id,
                    activity_id=activity_id,
                    student_id=student.id,
                    attempt=attempt,
                    answers=answers,
                    correct=correct,
                    at=to_iso(at),
                )
            if attempts == 2 and rng.random() < REVIEWED:
                await set_recipient_status(db, assignment_id, student.id, "reviewed")
