"""The eval runner end to end with fake targets, and the shape of the shipped quiz dataset."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals.run import (
    DATASETS_DIR,
    DEFAULT_THRESHOLDS,
    SUITES,
    Suite,
    Target,
    load_dataset,
    main,
)
from evals.scorers.quiz import QUIZ_SCORERS
from tools.text import normalise_text, strip_invisible

PASSAGE = (
    "Sound is a longitudinal wave that needs a medium to travel through. In air at about 20 °C, "
    "sound travels at approximately 343 m/s. Frequency is measured in hertz, and one hertz means "
    "one wave per second."
)
GOOD_QUIZ: dict[str, Any] = {
    "questions": [
        {
            "question": "How fast does sound travel in air at about 20 °C?",
            "choices": ["343 m/s", "150 m/s", "1500 m/s", "3000 m/s"],
            "answer": "343 m/s",
            "explanation": 'The passage says "sound travels at approximately 343 m/s".',
        },
        {
            "question": "In what unit is frequency measured?",
            "choices": ["hertz", "decibels", "metres", "newtons"],
            "answer": "hertz",
            "explanation": '"Frequency is measured in hertz, and one hertz means one wave".',
        },
    ]
}


def _write_dataset(path: Path, count: int = 3) -> Path:
    rows = [
        {
            "id": f"case-{n}",
            "subject": "physics",
            "title": "Sound",
            "passage": PASSAGE,
            "question_count": 3,
            "instructions": "",
        }
        for n in range(1, count + 1)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _run(tmp_path: Path, target: Target, *extra: str) -> tuple[int, dict[str, Any]]:
    dataset = _write_dataset(tmp_path / "quiz.jsonl")
    suite = Suite(name="quiz", dataset=dataset, target=target, scorers=QUIZ_SCORERS)
    out = tmp_path / "out" / "scorecard.json"
    status = main(["--suite", "quiz", "--out", str(out), *extra], suites={"quiz": lambda: suite})
    return status, json.loads(out.read_text(encoding="utf-8"))


async def good_target(case: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(GOOD_QUIZ)


async def bad_target(case: dict[str, Any]) -> dict[str, Any]:
    quiz = copy.deepcopy(GOOD_QUIZ)
    # An answer the passage never states, and the question asked twice.
    quiz["questions"][0].update(answer="3000 m/s")
    quiz["questions"].append(copy.deepcopy(quiz["questions"][1]))
    return quiz


async def flaky_target(case: dict[str, Any]) -> dict[str, Any]:
    if case["id"] == "case-2":
        raise RuntimeError("model unavailable")
    return copy.deepcopy(GOOD_QUIZ)


def test_a_good_target_passes_and_writes_the_scorecard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, scorecard = _run(tmp_path, good_target)
    assert status == 0
    assert scorecard["suite"] == "quiz"
    assert scorecard["cases"] == 3
    assert scorecard["metrics"] == dict.fromkeys(QUIZ_SCORERS, 1.0)
    assert scorecard["failures"] == []
    assert scorecard["passed"] is True
    assert set(scorecard["thresholds"]) == set(QUIZ_SCORERS)
    assert scorecard["duration_s"] >= 0
    printed = capsys.readouterr().out
    assert re.search(r"contract_valid\s+1\.000\s+1\.000\s+PASS", printed)
    assert "PASSED" in printed


def test_a_bad_target_fails_the_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, scorecard = _run(tmp_path, bad_target)
    assert status == 1
    assert scorecard["passed"] is False
    assert scorecard["metrics"]["contract_valid"] == 0.0
    assert scorecard["metrics"]["answer_supported"] == pytest.approx(2 / 3, abs=1e-4)
    assert scorecard["metrics"]["no_duplicates"] == 0.0
    assert {f["metric"] for f in scorecard["failures"]} >= {"answer_supported", "no_duplicates"}
    assert all(f["reasons"] for f in scorecard["failures"])
    printed = capsys.readouterr().out
    assert re.search(r"answer_supported\s+0\.667\s+0\.950\s+FAIL", printed)
    assert "case-1 " in printed


def test_a_raising_target_is_recorded_not_fatal(tmp_path: Path) -> None:
    status, scorecard = _run(tmp_path, flaky_target)
    assert status == 1
    assert scorecard["cases"] == 3
    assert scorecard["metrics"]["contract_valid"] == pytest.approx(2 / 3, abs=1e-4)
    failed = [f for f in scorecard["failures"] if f["case_id"] == "case-2"]
    assert {f["metric"] for f in failed} == set(QUIZ_SCORERS)
    for failure in failed:
        assert failure["reasons"] == ["the target raised RuntimeError: model unavailable"]
    assert all(f["case_id"] == "case-2" for f in scorecard["failures"])


def test_a_slow_target_times_out(tmp_path: Path) -> None:
    async def slow_target(case: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(5)
        return copy.deepcopy(GOOD_QUIZ)

    status, scorecard = _run(tmp_path, slow_target, "--timeout", "0.05", "--limit", "1")
    assert status == 1
    assert scorecard["cases"] == 1
    assert "did not answer within 0.05 s" in scorecard["failures"][0]["reasons"][0]


def test_a_crashing_scorer_scores_zero(tmp_path: Path) -> None:
    def broken(case: Any, payload: Any) -> Any:
        raise ValueError("boom")

    dataset = _write_dataset(tmp_path / "quiz.jsonl", count=1)
    suite = Suite("quiz", dataset, good_target, {**QUIZ_SCORERS, "count_ok": broken})
    out = tmp_path / "scorecard.json"
    assert main(["--out", str(out)], suites={"quiz": lambda: suite}) == 1
    scorecard = json.loads(out.read_text(encoding="utf-8"))
    assert scorecard["failures"] == [
        {
            "case_id": "case-1",
            "metric": "count_ok",
            "score": 0.0,
            "reasons": ["the scorer crashed: ValueError: boom"],
        }
    ]


def test_thresholds_naming_an_unknown_metric_are_a_setup_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps({"quiz": {"contract_vaild": 1.0}}), encoding="utf-8")
    dataset = _write_dataset(tmp_path / "quiz.jsonl")
    suite = Suite("quiz", dataset, good_target, QUIZ_SCORERS)
    out = tmp_path / "scorecard.json"
    argv = ["--thresholds", str(thresholds), "--out", str(out)]
    assert main(argv, suites={"quiz": lambda: suite}) == 2
    assert "contract_vaild" in capsys.readouterr().err
    assert not out.exists()


def test_a_malformed_dataset_is_a_setup_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "quiz.jsonl"
    dataset.write_text('{"id": "a"}\n{not json}\n', encoding="utf-8")
    suite = Suite("quiz", dataset, good_target, QUIZ_SCORERS)
    argv = ["--out", str(tmp_path / "scorecard.json")]
    assert main(argv, suites={"quiz": lambda: suite}) == 2
    assert "quiz.jsonl:2" in capsys.readouterr().err


def test_the_quiz_suite_is_registered_with_matching_thresholds() -> None:
    assert "quiz" in SUITES
    thresholds = json.loads(DEFAULT_THRESHOLDS.read_text(encoding="utf-8"))
    assert list(thresholds["quiz"]) == list(QUIZ_SCORERS)
    assert all(0.0 <= value <= 1.0 for value in thresholds["quiz"].values())


# --- the shipped dataset ------------------------------------------------------------------------

ID_PREFIXES = {"physics": "phys", "chemistry": "chem", "biology": "bio", "maths": "maths"}
SUBJECTS = set(ID_PREFIXES)
SHORT_CASES = {"maths-005"}  # the deliberately short, two-sentence passage
QUIZ_CASES = load_dataset(DATASETS_DIR / "quiz.jsonl")


def _word_count(text: str) -> int:
    return len(re.findall(r"[^\W\d_][\w'\u2019-]*", normalise_text(text)))


def test_the_dataset_is_large_and_balanced() -> None:
    assert len(QUIZ_CASES) >= 24
    per_subject = Counter(case["subject"] for case in QUIZ_CASES)
    assert set(per_subject) == SUBJECTS
    assert min(per_subject.values()) >= 5


@pytest.mark.parametrize("case", QUIZ_CASES, ids=[c["id"] for c in QUIZ_CASES])
def test_every_case_is_well_formed(case: dict[str, Any]) -> None:
    assert set(case) == {"id", "subject", "title", "passage", "question_count", "instructions"}
    assert re.fullmatch(rf"{ID_PREFIXES[case['subject']]}-\d{{3}}", case["id"])
    assert isinstance(case["title"], str) and case["title"].strip()
    assert isinstance(case["instructions"], str)
    count = case["question_count"]
    assert isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= 8
    words = _word_count(case["passage"])
    if case["id"] in SHORT_CASES:
        assert words < 80
    else:
        assert 80 <= words <= 250, words


def test_the_dataset_has_unique_ids_and_varied_requests() -> None:
    ids = [case["id"] for case in QUIZ_CASES]
    assert len(ids) == len(set(ids))
    assert len({case["question_count"] for case in QUIZ_CASES}) >= 5
    assert any(not case["instructions"] for case in QUIZ_CASES)
    assert any(case["instructions"] for case in QUIZ_CASES)


def test_the_dataset_includes_the_hard_cases() -> None:
    passages = [case["passage"] for case in QUIZ_CASES]
    assert any(re.search(r"^#{1,2} ", p, re.MULTILINE) for p in passages)
    assert any(re.search(r"^- ", p, re.MULTILINE) for p in passages)
    assert any(strip_invisible(p) != p for p in passages)
    raw = (DATASETS_DIR / "quiz.jsonl").read_text(encoding="utf-8")
    assert "\\u200b" in raw and "\u200b" not in raw  # written as escapes, not raw characters
