"""Run an eval suite and gate on its thresholds.

    python -m evals.run [--suite quiz|...|all] [--out evals/out/<suite>.json]
                        [--thresholds evals/thresholds.json] [--concurrency 4]
                        [--timeout 180] [--limit N]

For every case in the suite's JSONL dataset the runner awaits the suite's target, scores the
result with each of the suite's scorers, and writes a JSON scorecard with the mean of every
metric, every failure and whether each mean reached its threshold. It prints a short table and
the first few failures, then exits 0 when every metric met its threshold, 1 when one did not,
and 2 when the run could not be set up (bad dataset, unknown metric in the thresholds, ...).

A target that raises or times out does not stop the run: that case scores 0 on every metric,
with the error as the reason. A suite is a `Suite` registered in `SUITES`; adding chat or
blueprint evals means adding a dataset, scorers and one factory there.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from evals.scorers import Score, Scorer

EVALS_DIR: Final = Path(__file__).resolve().parent
DATASETS_DIR: Final = EVALS_DIR / "datasets"
DEFAULT_THRESHOLDS: Final = EVALS_DIR / "thresholds.json"
DEFAULT_OUT_DIR: Final = Path("evals/out")
PRINTED_FAILURES: Final = 5

Target = Callable[[dict[str, Any]], Awaitable[Any]]
"""`await target(case)` returns the payload that the suite's scorers judge."""


@dataclass(frozen=True)
class Suite:
    """One eval suite: where its cases live, what produces an output, and how it is scored."""

    name: str
    dataset: Path
    target: Target
    scorers: Mapping[str, Scorer]


def _lazy_suite(name: str, dataset: str, target: str, scorers: str) -> Callable[[], Suite]:
    """A suite built on first use: listing suites, or running another, never imports its
    graph or model clients. `target`/`scorers` are `module:attribute` names."""

    def load(reference: str) -> Any:
        module, _, attribute = reference.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def build() -> Suite:
        return Suite(name, DATASETS_DIR / dataset, load(target), load(scorers))

    return build


def _compaction_suite() -> Suite:
    from evals.scorers.compaction import COMPACTION_SCORERS
    from evals.targets import compaction_target

    def lift(scorer: Callable[[Any, Any], Score]) -> Scorer:
        # The target returns the replayed conversation; each scorer judges that replay.
        return lambda row, replayed: scorer(replayed["case"], replayed["steps"])

    return Suite(
        name="chat_compaction",
        dataset=DATASETS_DIR / "chat_compaction_suite.jsonl",
        target=compaction_target,
        scorers={name: lift(scorer) for name, scorer in COMPACTION_SCORERS.items()},
    )


SUITES: Final[Mapping[str, Callable[[], Suite]]] = {
    "quiz": _lazy_suite(
        "quiz", "quiz.jsonl", "evals.targets:quiz_target", "evals.scorers.quiz:QUIZ_SCORERS"
    ),
    "flashcards": _lazy_suite(
        "flashcards",
        "flashcards.jsonl",
        "evals.targets_flashcards:flashcards_target",
        "evals.scorers.flashcards:FLASHCARDS_SCORERS",
    ),
    "blueprints": _lazy_suite(
        "blueprints",
        "blueprints.jsonl",
        "evals.targets_blueprint:blueprint_target",
        "evals.scorers.blueprint:BLUEPRINT_SCORERS",
    ),
    "chat_grounded": _lazy_suite(
        "chat_grounded",
        "chat_grounded.jsonl",
        "evals.targets:chat_target",
        "evals.scorers.chat:GROUNDED_SCORERS",
    ),
    "chat_safety": _lazy_suite(
        "chat_safety",
        "chat_safety.jsonl",
        "evals.targets:chat_target",
        "evals.scorers.chat:SAFETY_SCORERS",
    ),
    "chat_compaction": _compaction_suite,
    "retrieval": _lazy_suite(
        "retrieval",
        "retrieval_suite.jsonl",
        "evals.scorers.retrieval:retrieval_target",
        "evals.scorers.retrieval:RETRIEVAL_SCORERS",
    ),
    "data_query": _lazy_suite(
        "data_query",
        "data_query.jsonl",
        "evals.targets_data_query:data_query_target",
        "evals.scorers.data_query:DATA_QUERY_SCORERS",
    ),
}
"""Suite factories by name; a factory builds its suite only when that suite is run."""


class EvalSetupError(Exception):
    """The run cannot start or cannot be judged: reported to the user, exit status 2."""


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    scores: dict[str, Score]


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
    suite: Suite, case: dict[str, Any], gate: asyncio.Semaphore, timeout: float
) -> CaseResult:
    case_id = str(case["id"])
    async with gate:
        try:
            # The target gets a copy, so nothing it changes leaks into scoring.
            payload = await asyncio.wait_for(suite.target(dict(case)), timeout)
        except TimeoutError:
            reason = f"the target did not answer within {timeout:g} s"
            return CaseResult(case_id, {m: Score(0.0, [reason]) for m in suite.scorers})
        except Exception as exc:  # a failing case is a result, not a crash
            reason = f"the target raised {type(exc).__name__}: {exc}"
            return CaseResult(case_id, {m: Score(0.0, [reason]) for m in suite.scorers})
    return CaseResult(case_id, score_case(suite, case, payload))


async def run_cases(
    suite: Suite,
    cases: Sequence[dict[str, Any]],
    *,
    concurrency: int = 4,
    timeout: float = 180.0,
) -> list[CaseResult]:
    """Run the target on every case, at most `concurrency` at a time, in dataset order."""
    gate = asyncio.Semaphore(max(1, concurrency))
    return list(await asyncio.gather(*(_run_case(suite, c, gate, timeout) for c in cases)))


def build_scorecard(
    suite: Suite,
    results: Sequence[CaseResult],
    thresholds: Mapping[str, float],
    duration_s: float,
) -> dict[str, Any]:
    """The JSON scorecard: per-metric means, every failure, and the verdict against thresholds."""
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
        "cases": len(results),
        "metrics": metrics,
        "failures": failures,
        "thresholds": dict(thresholds),
        "passed": passed,
        "duration_s": round(duration_s, 3),
    }


# --- reporting ----------------------------------------------------------------------------------


def format_report(scorecard: Mapping[str, Any], *, max_failures: int = PRINTED_FAILURES) -> str:
    """A fixed-width table of the metrics followed by the first few failures."""
    metrics: Mapping[str, float] = scorecard["metrics"]
    thresholds: Mapping[str, float] = scorecard["thresholds"]
    width = max([len("metric"), *(len(name) for name in metrics)])
    cases, seconds = scorecard["cases"], scorecard["duration_s"]
    lines = [
        f"suite {scorecard['suite']}: {cases} cases in {seconds:.2f} s",
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
        prog="python -m evals.run", description="Run an eval suite and check its thresholds."
    )
    parser.add_argument(
        "--suite", choices=[*suite_names, "all"], default="all", help="default: all suites"
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


def _run_suite(name: str, factory: Callable[[], Suite], args: argparse.Namespace, out: Path) -> int:
    try:
        suite = factory()
    except ImportError as exc:
        print(f"evals: cannot load the {name!r} suite: {exc}", file=sys.stderr)
        return 2
    try:
        cases = load_dataset(suite.dataset)
        thresholds = load_thresholds(args.thresholds, suite)
    except EvalSetupError as exc:
        print(f"evals: {exc}", file=sys.stderr)
        return 2
    if args.limit is not None:
        cases = cases[: args.limit]
    started = time.perf_counter()
    results = asyncio.run(
        run_cases(suite, cases, concurrency=args.concurrency, timeout=args.timeout)
    )
    scorecard = build_scorecard(suite, results, thresholds, time.perf_counter() - started)
    write_scorecard(scorecard, out)
    print(format_report(scorecard))
    print(f"scorecard written to {out}\n")
    return 0 if scorecard["passed"] else 1


def main(
    argv: Sequence[str] | None = None,
    *,
    suites: Mapping[str, Callable[[], Suite]] | None = None,
) -> int:
    """Run one suite (or all); returns the exit status (0 pass, 1 a suite failed, 2 error)."""
    registry = SUITES if suites is None else suites
    args = _parser(sorted(registry)).parse_args(argv)
    names = sorted(registry) if args.suite == "all" else [args.suite]
    statuses = [
        _run_suite(name, registry[name], args, _scorecard_path(args.out, name, len(names) > 1))
        for name in names
    ]
    return max(statuses)


if __name__ == "__main__":
    raise SystemExit(main())
