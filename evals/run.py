"""Run the eval suites and gate on their thresholds.

    python -m evals.run [--suite NAME|all] [--provider offline|configured]
                        [--out evals/out/<suite>.json] [--thresholds evals/thresholds.json]
                        [--concurrency 4] [--timeout 180] [--limit N]

`make evals` runs `python -m evals.run`: every suite in `SUITES`, each on the offline engine.

For every case in a suite's JSONL dataset the runner awaits the suite's target (the real graph,
see `evals/targets.py`) with the run's models, scores the payload with each of the suite's
scorers, and writes a JSON scorecard: the mean of every metric, every failure, whether each mean
reached its threshold, the provider mode, and which provider and model answered each case.
It prints a short table and the first few failures per suite.

`--provider offline` (the default, and CI's) gives the graphs a router with no providers, so the
offline engine answers and the scores reproduce exactly. `--provider configured` uses the
providers the environment configures (the server's variables: `OPENROUTER_API_KEY`,
`OPENAI_API_KEY`, `GEMINI_API_KEY`, `AI_PROVIDER_DEFAULT`, ...), so the same suites score a real
provider; the offline engine stays the last resort, and the scorecard shows any case it answered.
The retrieval and compaction suites call no model and score the same in both modes.

Exit status: 0 when every metric of every suite met its threshold, 1 when one did not, 2 when
the run could not be set up (bad dataset, unknown metric in the thresholds, `configured` with no
provider configured). A target that raises or times out does not stop the run: that case scores 0
on every metric, with the error as the reason. Adding a suite means a dataset, scorers, a target
in `evals/targets.py`, thresholds and one entry in `SUITES`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from evals.scorers import Score, Scorer
from evals.scorers.blueprint import BLUEPRINT_SCORERS
from evals.scorers.chat import GROUNDED_SCORERS, SAFETY_SCORERS
from evals.scorers.compaction import COMPACTION_SCORERS
from evals.scorers.data_query import DATA_QUERY_SCORERS
from evals.scorers.flashcards import FLASHCARDS_SCORERS
from evals.scorers.injection import INJECTION_SCORERS
from evals.scorers.quiz import QUIZ_SCORERS
from evals.scorers.retrieval import RETRIEVAL_SCORERS
from evals.targets import (
    PROVIDER_MODES,
    Answer,
    EvalModels,
    NoProviderConfigured,
    ProviderMode,
    blueprint_target,
    chat_target,
    compaction_target,
    data_query_target,
    eval_models,
    flashcards_target,
    injection_target,
    quiz_target,
    retrieval_target,
)
from tools.models.offline import OFFLINE_PROVIDER

EVALS_DIR: Final = Path(__file__).resolve().parent
DATASETS_DIR: Final = EVALS_DIR / "datasets"
DEFAULT_THRESHOLDS: Final = EVALS_DIR / "thresholds.json"
DEFAULT_OUT_DIR: Final = Path("evals/out")
PRINTED_FAILURES: Final = 5

Target = Callable[[dict[str, Any], EvalModels], Awaitable[Answer]]
"""`await target(case, models)` returns the payload the suite's scorers judge, and its author."""


@dataclass(frozen=True)
class Suite:
    """One eval suite: where its cases live, what produces an output, and how it is scored."""

    name: str
    dataset: Path
    target: Target
    scorers: Mapping[str, Scorer]


def _replay_scorers() -> dict[str, Scorer]:
    def lift(scorer: Callable[[Any, Any], Score]) -> Scorer:
        # The target returns the replayed conversation; each scorer judges that replay.
        return lambda row, replayed: scorer(replayed["case"], replayed["steps"])

    return {name: lift(scorer) for name, scorer in COMPACTION_SCORERS.items()}


SUITES: Final[Mapping[str, Suite]] = {
    suite.name: suite
    for suite in (
        Suite("quiz", DATASETS_DIR / "quiz.jsonl", quiz_target, QUIZ_SCORERS),
        Suite(
            "flashcards", DATASETS_DIR / "flashcards.jsonl", flashcards_target, FLASHCARDS_SCORERS
        ),
        Suite("blueprints", DATASETS_DIR / "blueprints.jsonl", blueprint_target, BLUEPRINT_SCORERS),
        Suite("chat_grounded", DATASETS_DIR / "chat_grounded.jsonl", chat_target, GROUNDED_SCORERS),
        Suite("chat_safety", DATASETS_DIR / "chat_safety.jsonl", chat_target, SAFETY_SCORERS),
        Suite(
            "chat_compaction",
            DATASETS_DIR / "chat_compaction_suite.jsonl",
            compaction_target,
            _replay_scorers(),
        ),
        Suite(
            "retrieval", DATASETS_DIR / "retrieval_suite.jsonl", retrieval_target, RETRIEVAL_SCORERS
        ),
        Suite(
            "data_query", DATASETS_DIR / "data_query.jsonl", data_query_target, DATA_QUERY_SCORERS
        ),
        Suite("injection", DATASETS_DIR / "injection.jsonl", injection_target, INJECTION_SCORERS),
    )
}
"""Every suite by name; `python -m evals.run` with no `--suite` runs them all."""


class EvalSetupError(Exception):
    """The run cannot start or cannot be judged: reported to the user, exit status 2."""


@dataclass(frozen=True)
class CaseResult:
    """One case's scores, and the provider and model that answered it (None when unknown)."""

    case_id: str
    scores: dict[str, Score]
    provider: str | None = None
    model: str | None = None


# --- loading ------------------------------------------------------------------------------------


def load_dataset(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL dataset: one JSON object with a unique string `id` per non-blank line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalSetupError(f"cannot read the dataset {path}: {exc}") from exc
    cases: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetupError(f"{path}:{number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(case, dict) or not isinstance(case.get("id"), str):
            raise EvalSetupError(f"{path}:{number}: each line must be an object with an `id`")
        if case["id"] in seen:
            raise EvalSetupError(f"{path}:{number}: duplicate case id {case['id']!r}")
        seen.add(case["id"])
        cases.append(case)
    if not cases:
        raise EvalSetupError(f"the dataset {path} has no cases")
    return cases


def load_thresholds(path: Path, suite: Suite) -> dict[str, float]:
    """The suite's section of the thresholds file, checked against the suite's metrics."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalSetupError(f"cannot read the thresholds {path}: {exc}") from exc
    section = document.get(suite.name) if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise EvalSetupError(f"{path} has no thresholds for the {suite.name!r} suite")
    thresholds: dict[str, float] = {}
    for metric, value in section.items():
        if metric not in suite.scorers:
            raise EvalSetupError(
                f"{path}: {suite.name}.{metric} names no metric of the suite "
                f"(known: {', '.join(suite.scorers)})"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise EvalSetupError(f"{path}: {suite.name}.{metric} must be a number in [0, 1]")
        thresholds[metric] = float(value)
    return thresholds


# --- running ------------------------------------------------------------------------------------


def score_case(suite: Suite, case: Mapping[str, Any], payload: Any) -> dict[str, Score]:
    """Every scorer's verdict on one payload; a scorer that crashes scores 0 with the error."""
    scores: dict[str, Score] = {}
    for metric, scorer in suite.scorers.items():
        try:
            score = scorer(case, payload)
        except Exception as exc:  # one broken scorer must not sink the run
            score = Score(0.0, [f"the scorer crashed: {type(exc).__name__}: {exc}"])
        value = score.value if math.isfinite(score.value) else 0.0
        scores[metric] = Score(min(1.0, max(0.0, value)), list(score.reasons))
    return scores


async def _run_case(
    suite: Suite,
    case: dict[str, Any],
    models: EvalModels,
    gate: asyncio.Semaphore,
    timeout: float,
) -> CaseResult:
    case_id = str(case["id"])
    async with gate:
        try:
            # The target gets a copy, so nothing it changes leaks into scoring.
            answer = await asyncio.wait_for(suite.target(dict(case), models), timeout)
        except TimeoutError:
            reason = f"the target did not answer within {timeout:g} s"
            return CaseResult(case_id, {m: Score(0.0, [reason]) for m in suite.scorers})
        except Exception as exc:  # a failing case is a result, not a crash
            reason = f"the target raised {type(exc).__name__}: {exc}"
            return CaseResult(case_id, {m: Score(0.0, [reason]) for m in suite.scorers})
    scores = score_case(suite, case, answer.payload)
    return CaseResult(case_id, scores, answer.provider, answer.model)


async def run_cases(
    suite: Suite,
    cases: Sequence[dict[str, Any]],
    models: EvalModels,
    *,
    concurrency: int = 4,
    timeout: float = 180.0,
) -> list[CaseResult]:
    """Run the target on every case with `models`, at most `concurrency` at a time, in dataset
    order."""
    gate = asyncio.Semaphore(max(1, concurrency))
    runs = (_run_case(suite, case, models, gate, timeout) for case in cases)
    return list(await asyncio.gather(*runs))


def _answered_by(results: Sequence[CaseResult]) -> list[dict[str, Any]]:
    """How many cases each provider/model answered, most first; unknown authors are left out."""
    counts = Counter((r.provider, r.model or "") for r in results if r.provider is not None)
    return [
        {"provider": provider, "model": model, "cases": cases}
        for (provider, model), cases in counts.most_common()
    ]


def build_scorecard(
    suite: Suite,
    results: Sequence[CaseResult],
    thresholds: Mapping[str, float],
    duration_s: float,
    *,
    models: EvalModels,
) -> dict[str, Any]:
    """The JSON scorecard: per-metric means, every failure, the verdict against thresholds, and
    which models ran (the mode, the providers in order, and who answered each case)."""
    metrics = {
        metric: round(sum(r.scores[metric].value for r in results) / len(results), 4)
        if results
        else 0.0
        for metric in suite.scorers
    }
    failures = [
        {
            "case_id": result.case_id,
            "metric": metric,
            "score": round(score.value, 4),
            "reasons": score.reasons,
        }
        for result in results
        for metric, score in result.scores.items()
        if score.value < 1.0 or score.reasons
    ]
    passed = all(metrics[metric] >= limit for metric, limit in thresholds.items())
    return {
        "suite": suite.name,
        "provider_mode": models.mode,
        "providers": models.providers(),
        "cases": len(results),
        "metrics": metrics,
        "failures": failures,
        "thresholds": dict(thresholds),
        "passed": passed,
        "answered_by": _answered_by(results),
        "case_answers": [
            {"case_id": r.case_id, "provider": r.provider, "model": r.model}
            for r in results
            if r.provider is not None
        ],
        "duration_s": round(duration_s, 3),
    }


# --- reporting ----------------------------------------------------------------------------------


def _models_line(scorecard: Mapping[str, Any]) -> str:
    chain = [f"{p['provider']} {p['model']}" for p in scorecard["providers"]]
    if not chain:
        return f"provider mode {scorecard['provider_mode']}: the offline engine answers"
    tried = ", then ".join([*chain, "the offline engine"])
    return f"provider mode {scorecard['provider_mode']}: {tried}"


def _answered_line(scorecard: Mapping[str, Any]) -> str:
    answered: Sequence[Mapping[str, Any]] = scorecard["answered_by"]
    if not answered:
        return "answered by: no model (this suite calls none, or every case failed)"
    parts = [
        f"{a['provider']} {a['model']} ({a['cases']} case{'' if a['cases'] == 1 else 's'})"
        for a in answered
    ]
    return "answered by: " + ", ".join(parts)


def format_report(scorecard: Mapping[str, Any], *, max_failures: int = PRINTED_FAILURES) -> str:
    """Which models ran, a fixed-width table of the metrics, then the first few failures."""
    metrics: Mapping[str, float] = scorecard["metrics"]
    thresholds: Mapping[str, float] = scorecard["thresholds"]
    width = max([len("metric"), *(len(name) for name in metrics)])
    cases, seconds = scorecard["cases"], scorecard["duration_s"]
    lines = [
        f"suite {scorecard['suite']}: {cases} cases in {seconds:.2f} s",
        _models_line(scorecard),
        _answered_line(scorecard),
    ]
    fell_back = sum(
        a["cases"] for a in scorecard["answered_by"] if a["provider"] == OFFLINE_PROVIDER
    )
    if scorecard["providers"] and fell_back:
        # The configured providers failed on these cases: their scores are the offline engine's.
        lines.append(f"WARNING: {fell_back} case(s) fell back to the offline engine")
    lines += [
        "",
        f"{'metric':<{width}}  {'mean':>6}  {'threshold':>9}  result",
        f"{'-' * width}  {'-' * 6}  {'-' * 9}  ------",
    ]
    for name, mean in metrics.items():
        limit = thresholds.get(name)
        if limit is None:
            shown_limit, verdict = "-", "-"
        else:
            shown_limit, verdict = f"{limit:.3f}", "PASS" if mean >= limit else "FAIL"
        lines.append(f"{name:<{width}}  {mean:>6.3f}  {shown_limit:>9}  {verdict}")
    failures: Sequence[Mapping[str, Any]] = scorecard["failures"]
    if failures:
        lines += ["", f"{len(failures)} failure(s); the first {min(len(failures), max_failures)}:"]
        for failure in failures[:max_failures]:
            reasons = "; ".join(failure["reasons"]) or "(no reason given)"
            if len(reasons) > 160:
                reasons = reasons[:159] + "\u2026"
            lines.append(f"  {failure['case_id']} {failure['metric']}: {reasons}")
    lines += ["", "PASSED" if scorecard["passed"] else "FAILED: a metric is below its threshold"]
    return "\n".join(lines)


def write_scorecard(scorecard: Mapping[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(scorecard, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --- command line -------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _parser(suite_names: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evals.run", description="Run eval suites and check their thresholds."
    )
    parser.add_argument(
        "--suite", choices=[*suite_names, "all"], default="all", help="default: all suites"
    )
    parser.add_argument(
        "--provider",
        choices=PROVIDER_MODES,
        default="offline",
        help="offline (default): the offline engine answers, reproducibly; "
        "configured: the providers the environment configures, as the server uses them",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"scorecard path for one suite (default: {DEFAULT_OUT_DIR}/<suite>.json)",
    )
    parser.add_argument(
        "--thresholds",
        type=Path,
        default=DEFAULT_THRESHOLDS,
        help="thresholds JSON (default: evals/thresholds.json)",
    )
    parser.add_argument(
        "--concurrency", type=_positive_int, default=4, help="cases run at once (default: 4)"
    )
    parser.add_argument(
        "--timeout", type=_positive_float, default=180.0, help="seconds per case (default: 180)"
    )
    parser.add_argument("--limit", type=_positive_int, help="run only the first N cases")
    return parser


def _scorecard_path(out: Path | None, suite: str, several: bool) -> Path:
    if out is None:
        return DEFAULT_OUT_DIR / f"{suite}.json"
    return out.parent / f"{suite}.json" if several else out


async def _run_suite(suite: Suite, models: EvalModels, args: argparse.Namespace, out: Path) -> int:
    try:
        cases = load_dataset(suite.dataset)
        thresholds = load_thresholds(args.thresholds, suite)
    except EvalSetupError as exc:
        print(f"evals: {exc}", file=sys.stderr)
        return 2
    if args.limit is not None:
        cases = cases[: args.limit]
    started = time.perf_counter()
    results = await run_cases(
        suite, cases, models, concurrency=args.concurrency, timeout=args.timeout
    )
    duration = time.perf_counter() - started
    scorecard = build_scorecard(suite, results, thresholds, duration, models=models)
    write_scorecard(scorecard, out)
    print(format_report(scorecard))
    print(f"scorecard written to {out}\n")
    return 0 if scorecard["passed"] else 1


async def _run_suites(
    suites: Sequence[Suite], models: EvalModels, args: argparse.Namespace
) -> list[int]:
    # One event loop for every suite: provider clients pool their connections per loop, and a
    # connection left from a closed loop fails the next call (which then falls back to the
    # offline engine, so a later suite would score offline answers).
    several = len(suites) > 1
    try:
        return [
            await _run_suite(suite, models, args, _scorecard_path(args.out, suite.name, several))
            for suite in suites
        ]
    finally:
        await models.aclose()


def main(argv: Sequence[str] | None = None, *, suites: Mapping[str, Suite] | None = None) -> int:
    """Run one suite (or all); returns the exit status (0 pass, 1 a suite failed, 2 error)."""
    registry = SUITES if suites is None else suites
    args = _parser(sorted(registry)).parse_args(argv)
    try:
        # One set of models for the whole run: provider clients are built once, as the server
        # builds them once.
        models = eval_models(cast(ProviderMode, args.provider))
    except NoProviderConfigured as exc:
        print(f"evals: {exc}", file=sys.stderr)
        return 2
    names = sorted(registry) if args.suite == "all" else [args.suite]
    return max(asyncio.run(_run_suites([registry[name] for name in names], models, args)))


if __name__ == "__main__":
    raise SystemExit(main())
