"""The blueprint eval: the dataset's shape, the offline graph's scores, and scorers failing bad
blueprints."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from evals.scorers import Score
from evals.scorers.blueprint import (
    BLUEPRINT_SCORERS,
    case_material,
    contract_valid,
    cut_formula,
    evidence_labels_exist,
    objectives_have_levels,
    section_coverage,
    section_headings,
    teacher_wording,
    valid_dag,
)
from evals.targets import blueprint_target, eval_models
from tools.demo.blueprint import DEMO_BLUEPRINT
from tools.payloads.blueprint import FILE_NAME, LABEL_IN_TEXT

DATASET = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "blueprints.jsonl"
CASES: list[dict[str, Any]] = [json.loads(line) for line in DATASET.read_text().splitlines()]
THRESHOLD = 0.95

CASE: dict[str, Any] = {
    "id": "demo",
    "material_count": 4,
    "sources": [
        {"label": f"Source {n}", "title": title, "text": f"## {title}\nSome text on {title}."}
        for n, title in enumerate(
            ["Forces and Newton's laws", "Energy, work and power", "Atoms", "Waves and sound"],
            start=1,
        )
    ],
}


def test_the_dataset_has_varied_multi_source_cases() -> None:
    assert len(CASES) >= 12
    assert len({case["id"] for case in CASES}) == len(CASES)
    assert len({case["subject"] for case in CASES}) >= 6
    headed = 0
    for case in CASES:
        assert 2 <= len(case["sources"]) <= 4
        assert case["material_count"] == len(case["sources"])
        text = " ".join(source["text"] for source in case["sources"])
        assert 300 <= len(re.findall(r"\S+", text)) <= 900, case["id"]
        assert case_material(case).startswith("Source 1 | ")
        if len(section_headings(case_material(case))) >= 4:
            headed += 1
        else:  # unheaded material is there for the uploads named like files
            assert _named_like_uploads(case), case["id"]
    assert headed >= 12


def _named_like_uploads(case: dict[str, Any]) -> bool:
    titles = [source["title"] for source in case["sources"]]
    return any(FILE_NAME.search(title) or LABEL_IN_TEXT.search(title) for title in titles)


def test_some_cases_title_their_sources_like_uploads() -> None:
    """Materials the web app sends are often titled by their file name (or left as "Source N");
    these cases catch a blueprint that names topics after them."""
    uploads = [case["id"] for case in CASES if _named_like_uploads(case)]
    assert len(uploads) >= 3
    unheaded = [c for c in CASES if c["id"] in uploads and not section_headings(case_material(c))]
    assert unheaded  # topic names must then come from the ideas, not the headings


async def test_the_offline_graph_meets_every_threshold() -> None:
    totals = dict.fromkeys(BLUEPRINT_SCORERS, 0.0)
    failures: list[str] = []
    for case in CASES:
        payload = (await blueprint_target(case, eval_models("offline"))).payload
        for name, scorer in BLUEPRINT_SCORERS.items():
            score = scorer(case, payload)
            totals[name] += score.value
            failures += [f"{case['id']} {name}: {reason}" for reason in score.reasons]
    means = {name: total / len(CASES) for name, total in totals.items()}
    assert all(mean >= THRESHOLD for mean in means.values()), (means, failures)


def test_a_good_blueprint_scores_full_marks() -> None:
    for name, scorer in BLUEPRINT_SCORERS.items():
        assert scorer(CASE, DEMO_BLUEPRINT) == Score(1.0, []), name


def _broken(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(DEMO_BLUEPRINT)
    for index, fields in changes.items():
        payload["topics"][int(index[1:])].update(fields)
    return payload


def test_contract_valid_fails_any_contract_violation() -> None:
    score = contract_valid(CASE, _broken(t0={"key": "Forces"}))
    assert score.value == 0.0 and "kebab-case" in score.reasons[0]


def test_valid_dag_fails_cycles_and_unknown_prerequisites() -> None:
    cyclic = _broken(t0={"prerequisites": ["waves-and-sound"]})
    score = valid_dag(CASE, cyclic)
    assert score.value == 0.0 and "cycle" in score.reasons[0]
    score = valid_dag(CASE, _broken(t2={"prerequisites": ["chemistry"]}))
    assert score.value == 0.0 and "'chemistry' is not a topic key" in score.reasons[0]


def test_section_coverage_counts_the_headings_no_topic_covers() -> None:
    payload = copy.deepcopy(DEMO_BLUEPRINT)
    del payload["topics"][3]
    score = section_coverage(CASE, payload)
    assert score.value == 0.75
    assert score.reasons == ["No topic covers the section 'Waves and sound'."]
    no_headings = {"material_text": "Plain text without headings.", "material_count": 1}
    assert section_coverage(no_headings, DEMO_BLUEPRINT).value == 1.0


def test_evidence_labels_exist_counts_invented_labels() -> None:
    payload = _broken(t1={"evidence": [{"sourceLabel": "Source 9", "rationale": "?"}]})
    score = evidence_labels_exist(CASE, payload)
    assert 0.0 < score.value < 1.0
    assert score.reasons == [
        "Topic 'energy-work-power' cites 'Source 9', which is not in the material."
    ]
    bare = copy.deepcopy(DEMO_BLUEPRINT)
    for topic in bare["topics"]:
        topic["evidence"] = []
        for objective in topic["objectives"]:
            objective["evidence"] = []
    assert evidence_labels_exist(CASE, bare).value == 0.0


def test_objectives_have_levels_counts_null_levels() -> None:
    payload = copy.deepcopy(DEMO_BLUEPRINT)
    payload["topics"][0]["objectives"][0]["level"] = None
    score = objectives_have_levels(CASE, payload)
    assert score.value == 7 / 8
    assert "no valid level" in score.reasons[0]


@pytest.mark.parametrize("payload", [None, [], "text", {"topics": "none"}, {"topics": [1]}])
def test_unreadable_payloads_score_zero_without_raising(payload: Any) -> None:
    for name, scorer in BLUEPRINT_SCORERS.items():
        score = scorer(CASE, payload)
        assert score.value == 0.0 and score.reasons, name


def test_teacher_wording_fails_file_names_labels_and_cut_formulas() -> None:
    case = {
        "sources": [
            {"label": "Source 1", "title": "forces.md", "text": "Newton's law is F = m a."},
            {"label": "Source 2", "title": "Energy", "text": "KE = ½ m v² for a moving body."},
        ]
    }
    payload = copy.deepcopy(DEMO_BLUEPRINT)
    payload["topics"][0]["title"] = "forces.md: Newton"
    payload["topics"][0]["objectives"][1]["statement"] = "Use F = m to solve problems."
    payload["topics"][1]["title"] = "Source 2"
    score = teacher_wording(case, payload)
    texts = sum(1 + len(t["objectives"]) for t in payload["topics"])
    assert score.value == (texts - 3) / texts
    assert score.reasons == [
        "'forces.md: Newton' names a file; name the idea from the material instead.",
        "'Use F = m to solve problems.' cuts a formula short: 'F = m' goes on in the material.",
        "'Source 2' names a source label; labels belong only in `evidence`.",
    ]
    payload["topics"][0]["objectives"][1]["statement"] = "Use F = m a to solve problems."
    payload["topics"][0]["title"] = payload["topics"][1]["title"] = "Forces"
    assert teacher_wording(case, payload) == Score(1.0, [])


def test_cut_formula_only_flags_formulas_the_material_writes_longer() -> None:
    material = "Speed is v = d / t, where d is distance. KE = ½ m v². E = mc² is famous."
    assert cut_formula("Use v = d / t to find speed.", material) is None
    assert cut_formula("Use v = d to find speed.", material) == "v = d"
    assert cut_formula("Use KE = ½ m here.", material) == "KE = ½ m"
    assert cut_formula("Use KE = ½ m v² here.", material) is None
    assert cut_formula("Use E = mc² here.", material) is None
    assert cut_formula("Use p = m v here.", material) is None  # not in the material: no verdict
