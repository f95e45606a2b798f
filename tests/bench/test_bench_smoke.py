"""A smoke run of the benchmark suite: tiny durations, real child-process servers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.fixtures import FAKE_MODEL, FAKE_PROVIDER, QUESTION_COUNT, VALID_QUIZ_JSON
from bench.load import percentile
from bench.process import cpu_seconds
from tools.payloads.quiz import validate_quiz

HTTP_ROWS = ("healthz", "quiz_json_fake", "quiz_json_offline")


def test_the_scripted_reply_is_a_valid_quiz() -> None:
    assert validate_quiz(json.loads(VALID_QUIZ_JSON), question_count=QUESTION_COUNT) == []


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 50) is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_cpu_seconds_reads_proc() -> None:
    spent = cpu_seconds(os.getpid())
    assert spent is not None and spent > 0


def test_quick_bench_reports_every_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.json"
    assert main(["--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "GET /healthz" in printed and "quiz SSE" in printed
    results = json.loads(out.read_text())

    for key in HTTP_ROWS:
        row = results[key]
        assert row["requests"] > 0 and row["errors"] == 0, (key, row)
        for metric in ("rps", "p50_ms", "p95_ms", "server_cpu_us_per_request"):
            assert row[metric] > 0, (key, metric, row)
        assert row["p95_ms"] >= row["p50_ms"]
    assert results["quiz_json_fake"]["provider"] == FAKE_PROVIDER
    assert results["quiz_json_fake"]["model"] == FAKE_MODEL
    assert results["quiz_json_fake"]["questions"] == QUESTION_COUNT
    assert results["quiz_json_offline"]["provider"] == "offline"

    sse = results["quiz_sse_fake"]
    assert sse["streams"] > 0
    # Every stream ended with the `values` event (the JSON route's data).
    assert sse["completed_streams"] == sse["streams"]
    assert sse["last_events"] == {"values": sse["streams"]}
    assert sse["events_by_type"]["metadata"] == sse["streams"]
    for metric in (
        "streams_per_s",
        "p50_ms",
        "events_per_stream",
        "server_cpu_us_per_event",
        "server_cpu_us_per_stream",
    ):
        assert sse[metric] > 0, (metric, sse)


def test_offline_engine_timings_come_with_their_budgets() -> None:
    from bench import offline

    results = offline.run()
    assert set(results) == set(offline.BUDGET_MS)
    for name, row in results.items():
        assert row["best_ms"] > 0, name
        assert row["budget_ms"] == offline.BUDGET_MS[name]
    assert "flashcards_100k" in offline.format_rows(results)
