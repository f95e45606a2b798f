"""The eval runner end to end (fake targets, and the real quiz graph on a loopback provider),
the `--provider` flag, and the shape of the shipped quiz dataset."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import subprocess
import sys
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
from evals.targets import Answer, EvalModels, quiz_target
from tests.evals.conftest import LOOPBACK_KEY, LOOPBACK_MODEL
from tests.openai_server import OpenAIServer, reply, status
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
    status = main(["--suite", "quiz", "--out", str(out), *extra], suites={"quiz": suite})
    return status, json.loads(out.read_text(encoding="utf-8"))


async def good_target(case: dict[str, Any], models: EvalModels) -> Answer:
    return Answer(copy.deepcopy(GOOD_QUIZ), "offline", "stemgraph-offline-1")


async def bad_target(case: dict[str, Any], models: EvalModels) -> Answer:
    quiz = copy.deepcopy(GOOD_QUIZ)
    # An answer the passage never states, and the question asked twice.
    quiz["questions"][0].update(answer="3000 m/s")
    quiz["questions"].append(copy.deepcopy(quiz["questions"][1]))
    return Answer(quiz)


async def flaky_target(case: dict[str, Any], models: EvalModels) -> Answer:
    if case["id"] == "case-2":
        raise RuntimeError("model unavailable")
    return Answer(copy.deepcopy(GOOD_QUIZ))


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
    async def slow_target(case: dict[str, Any], models: EvalModels) -> Answer:
        await asyncio.sleep(5)
        return Answer(copy.deepcopy(GOOD_QUIZ))

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
    assert main(["--out", str(out)], suites={"quiz": suite}) == 1
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
    assert main(argv, suites={"quiz": suite}) == 2
    assert "contract_vaild" in capsys.readouterr().err
    assert not out.exists()


def test_a_malformed_dataset_is_a_setup_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "quiz.jsonl"
    dataset.write_text('{"id": "a"}\n{not json}\n', encoding="utf-8")
    suite = Suite("quiz", dataset, good_target, QUIZ_SCORERS)
    argv = ["--out", str(tmp_path / "scorecard.json")]
    assert main(argv, suites={"quiz": suite}) == 2
    assert "quiz.jsonl:2" in capsys.readouterr().err


def test_the_quiz_suite_is_registered_with_matching_thresholds() -> None:
    assert "quiz" in SUITES
    thresholds = json.loads(DEFAULT_THRESHOLDS.read_text(encoding="utf-8"))
    assert list(thresholds["quiz"]) == list(QUIZ_SCORERS)
    assert all(0.0 <= value <= 1.0 for value in thresholds["quiz"].values())


# --- the provider mode --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_KEYS = ("OPENROUTER_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY")


def _real_quiz_suite(tmp_path: Path, name: str = "quiz") -> Suite:
    """The real quiz target and scorers on a small dataset about `PASSAGE`."""
    return Suite(
        name, _write_dataset(tmp_path / f"{name}.jsonl", count=2), quiz_target, QUIZ_SCORERS
    )


def test_offline_is_the_default_and_the_scorecard_says_who_answered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, scorecard = _run(tmp_path, good_target)
    assert status == 0
    assert scorecard["provider_mode"] == "offline"
    assert scorecard["providers"] == []
    assert scorecard["answered_by"] == [
        {"provider": "offline", "model": "stemgraph-offline-1", "cases": 3}
    ]
    assert scorecard["case_answers"] == [
        {"case_id": f"case-{n}", "provider": "offline", "model": "stemgraph-offline-1"}
        for n in (1, 2, 3)
    ]
    printed = capsys.readouterr().out
    assert "provider mode offline: the offline engine answers" in printed
    assert "answered by: offline stemgraph-offline-1 (3 cases)" in printed


def test_cases_whose_author_is_unknown_are_not_attributed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, scorecard = _run(tmp_path, flaky_target)
    assert scorecard["answered_by"] == []
    assert scorecard["case_answers"] == []
    assert "answered by: no model" in capsys.readouterr().out


def test_the_provider_flag_takes_only_the_two_modes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = Suite("quiz", _write_dataset(tmp_path / "quiz.jsonl"), good_target, QUIZ_SCORERS)
    with pytest.raises(SystemExit) as exited:
        main(["--provider", "local"], suites={"quiz": suite})
    assert exited.value.code == 2
    assert "invalid choice: 'local'" in capsys.readouterr().err


def test_make_evals_runs_the_default_offline_mode() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^evals:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe is not None
    # No `--provider`: CI scores the offline engine, whatever keys its environment holds.
    assert recipe.group(1).split() == ["$(BIN)/python", "-m", "evals.run"]


def test_offline_never_calls_a_configured_provider(
    tmp_path: Path, openrouter_loopback: OpenAIServer
) -> None:
    openrouter_loopback.chat(reply(json.dumps(GOOD_QUIZ)))
    out = tmp_path / "quiz.json"
    main(["--out", str(out)], suites={"quiz": _real_quiz_suite(tmp_path)})
    scorecard = json.loads(out.read_text(encoding="utf-8"))
    assert openrouter_loopback.requests == []
    assert scorecard["provider_mode"] == "offline"
    assert {a["provider"] for a in scorecard["case_answers"]} == {"offline"}
    assert len(scorecard["case_answers"]) == 2


def test_configured_without_a_provider_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in PROVIDER_KEYS:
        monkeypatch.delenv(name, raising=False)
    called: list[str] = []

    async def target(case: dict[str, Any], models: EvalModels) -> Answer:
        called.append(case["id"])
        return Answer(copy.deepcopy(GOOD_QUIZ))

    suite = Suite("quiz", _write_dataset(tmp_path / "quiz.jsonl"), target, QUIZ_SCORERS)
    out = tmp_path / "scorecard.json"
    assert main(["--provider", "configured", "--out", str(out)], suites={"quiz": suite}) == 2
    error = capsys.readouterr().err
    assert "no model provider is configured" in error
    assert "nothing to score" in error
    assert called == []
    assert not out.exists()


def test_the_command_line_exits_2_for_configured_without_keys(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEYS}
    finished = subprocess.run(
        [sys.executable, "-m", "evals.run", "--provider", "configured", "--suite", "quiz"],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 2, finished.stderr
    assert "no model provider is configured" in finished.stderr
    assert finished.stdout == ""


def test_configured_scores_the_real_graph_through_the_provider(
    tmp_path: Path, openrouter_loopback: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openrouter_loopback.chat(reply(json.dumps(GOOD_QUIZ)), reply(json.dumps(GOOD_QUIZ)))
    out = tmp_path / "quiz.json"
    argv = ["--provider", "configured", "--out", str(out)]
    assert main(argv, suites={"quiz": _real_quiz_suite(tmp_path)}) == 0
    scorecard = json.loads(out.read_text(encoding="utf-8"))
    assert scorecard["provider_mode"] == "configured"
    assert scorecard["providers"] == [{"provider": "openrouter", "model": LOOPBACK_MODEL}]
    assert scorecard["answered_by"] == [
        {"provider": "openrouter", "model": LOOPBACK_MODEL, "cases": 2}
    ]
    assert scorecard["case_answers"] == [
        {"case_id": f"case-{n}", "provider": "openrouter", "model": LOOPBACK_MODEL} for n in (1, 2)
    ]
    # The provider's quiz is what was scored (it is a perfect one).
    assert scorecard["metrics"] == dict.fromkeys(QUIZ_SCORERS, 1.0)
    # One request per case, carrying the case's material, the model and the key.
    assert len(openrouter_loopback.chat_requests) == 2
    for request in openrouter_loopback.chat_requests:
        assert request.json["model"] == LOOPBACK_MODEL
        assert any("343 m/s" in message["content"] for message in request.json["messages"])
    authorizations = [r.header("authorization") for r in openrouter_loopback.chat_requests]
    assert authorizations == [f"Bearer {LOOPBACK_KEY}"] * 2
    printed = capsys.readouterr().out
    assert f"provider mode configured: openrouter {LOOPBACK_MODEL}, then the offline engine" in (
        printed
    )
    assert f"answered by: openrouter {LOOPBACK_MODEL} (2 cases)" in printed
    assert "WARNING" not in printed


def test_a_failing_provider_shows_as_an_offline_fallback(
    tmp_path: Path, openrouter_loopback: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openrouter_loopback.chat(status(500), status(500))
    out = tmp_path / "quiz.json"
    main(
        ["--provider", "configured", "--out", str(out)], suites={"quiz": _real_quiz_suite(tmp_path)}
    )
    scorecard = json.loads(out.read_text(encoding="utf-8"))
    assert len(openrouter_loopback.chat_requests) == 2  # a 500 is not retried: once per case
    assert scorecard["providers"] == [{"provider": "openrouter", "model": LOOPBACK_MODEL}]
    assert scorecard["answered_by"] == [
        {"provider": "offline", "model": "stemgraph-offline-1", "cases": 2}
    ]
    assert "WARNING: 2 case(s) fell back to the offline engine" in capsys.readouterr().out


def test_every_suite_of_a_configured_run_reaches_the_provider(
    tmp_path: Path, openrouter_loopback: OpenAIServer
) -> None:
    openrouter_loopback.chat(*[reply(json.dumps(GOOD_QUIZ))] * 4)
    thresholds = tmp_path / "thresholds.json"
    limits = dict.fromkeys(QUIZ_SCORERS, 1.0)
    thresholds.write_text(json.dumps({"quiz": limits, "quiz_again": limits}), encoding="utf-8")
    suites = {name: _real_quiz_suite(tmp_path, name) for name in ("quiz", "quiz_again")}
    out = tmp_path / "out" / "all.json"
    argv = ["--provider", "configured", "--thresholds", str(thresholds), "--out", str(out)]
    # The second suite reuses the provider client, and its pooled keep-alive connection.
    assert main(argv, suites=suites) == 0
    for name in suites:
        scorecard = json.loads((out.parent / f"{name}.json").read_text(encoding="utf-8"))
        assert scorecard["answered_by"] == [
            {"provider": "openrouter", "model": LOOPBACK_MODEL, "cases": 2}
        ], name
    assert len(openrouter_loopback.chat_requests) == 4


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
