"""The data-query eval: an original, labelled dataset; the offline pipeline meets the bar; and
the scorers fail what they should."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from evals.run import DATASETS_DIR, Suite, build_scorecard, load_dataset, run_cases
from evals.scorers import Score
from evals.scorers.data_query import (
    DATA_QUERY_SCORERS,
    exact_data_match,
    no_data_when_unanswerable,
    spec_valid,
)
from evals.targets import data_query_target, eval_models
from tools.payloads.canvas import NO_DATA_LABEL, validate_chart_spec
from tools.text import fold

DATASET = DATASETS_DIR / "data_query.jsonl"
THRESHOLDS = {"spec_valid": 1.0, "exact_data_match": 0.9, "no_data_when_unanswerable": 1.0}
NO_DATA = [{"label": NO_DATA_LABEL, "value": 0}]
CASE: dict[str, Any] = {
    "id": "t",
    "question": "attempts per topic",
    "expected": {"data": [{"label": "Forces", "value": 28}, {"label": "Waves", "value": 25.5}]},
    "unanswerable": False,
}
GOOD: dict[str, Any] = {
    "spec": {"type": "chart", "chartType": "bar", "title": "Attempts", **CASE["expected"]},
    "query": {"metric": "attempt_count", "group_by": "topic"},
}


def test_the_dataset_is_labelled_and_varied() -> None:
    cases = load_dataset(DATASET)
    assert len(cases) >= 25
    assert len({fold(case["question"]) for case in cases}) == len(cases)
    unanswerable = [case for case in cases if case["unanswerable"]]
    injections = [case for case in cases if case.get("injection")]
    assert len(unanswerable) - len(injections) >= 3 and len(injections) >= 2
    assert all(case["unanswerable"] for case in injections)
    for case in cases:
        data = case["expected"]["data"]
        assert (data == NO_DATA) is case["unanswerable"], case["id"]
        spec = {"type": "chart", "title": "t", **case["expected"]}
        assert validate_chart_spec(spec, min_points=2, allow_no_data=True) == [], case["id"]
    answered = [case for case in cases if not case["unanswerable"]]
    assert len({case["expected"]["chartType"] for case in answered}) == 3  # bar, line, pie


def test_the_offline_pipeline_meets_the_bar() -> None:
    suite = Suite("data_query", DATASET, data_query_target, DATA_QUERY_SCORERS)
    cases = load_dataset(DATASET)
    offline = eval_models("offline")
    results = asyncio.run(run_cases(suite, cases, offline))
    scorecard = build_scorecard(suite, results, THRESHOLDS, 0.0, models=offline)
    assert scorecard["passed"], scorecard["failures"]
    assert scorecard["metrics"]["exact_data_match"] == 1.0, scorecard["failures"]


async def test_the_target_draws_the_expected_chart_types() -> None:
    for case in load_dataset(DATASET):
        payload = (await data_query_target(dict(case), eval_models("offline"))).payload
        assert payload["spec"]["chartType"] == case["expected"]["chartType"], case["id"]
        assert (payload["query"] is None) is case["unanswerable"], case["id"]


def test_a_matching_payload_scores_one_everywhere() -> None:
    for name, scorer in DATA_QUERY_SCORERS.items():
        assert scorer(CASE, GOOD) == Score(1.0, []), name
    near = copy.deepcopy(GOOD)
    near["spec"]["data"][1]["value"] = 25.54
    assert exact_data_match(CASE, near).value == 1.0


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.reverse(),
        lambda data: data.pop(),
        lambda data: data[1].update(value=25.6),
        lambda data: data[1].update(value="25.5"),
        lambda data: data[0].update(label="forces"),
        lambda data: data[0].update(value=True),
    ],
)
def test_exact_data_match_fails_other_data(change: Any) -> None:
    payload = copy.deepcopy(GOOD)
    change(payload["spec"]["data"])
    assert exact_data_match(CASE, payload).value == 0.0
    assert exact_data_match(CASE, payload).reasons


def test_spec_valid_and_no_data_judge_the_spec() -> None:
    assert spec_valid(CASE, {"spec": {"type": "chart"}}).value == 0.0
    assert spec_valid(CASE, None).value == 0.0
    assert exact_data_match(CASE, {"spec": None}).value == 0.0
    refused = {"spec": {"type": "chart", "chartType": "bar", "title": "t", "data": NO_DATA}}
    assert spec_valid(CASE, refused).value == 1.0
    unanswerable = {**CASE, "unanswerable": True, "expected": {"data": NO_DATA}}
    assert no_data_when_unanswerable(unanswerable, refused) == Score(1.0, [])
    assert exact_data_match(unanswerable, refused) == Score(1.0, [])
    leaked = no_data_when_unanswerable(unanswerable, GOOD)
    assert leaked.value == 0.0 and leaked.reasons
    assert no_data_when_unanswerable(CASE, refused).value == 1.0  # judged by exact_data_match
