"""A smoke run of the benchmark suite: tiny durations, real child-process servers."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from bench.__main__ import main
from bench.fixtures import FAKE_MODEL, FAKE_PROVIDER, QUESTION_COUNT, VALID_QUIZ_JSON
from bench.load import percentile
from bench.process import cpu_seconds, rss_bytes
from bench.timed import TOKEN, TimedChatModel, bench_message
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
    resident = rss_bytes(os.getpid())
    assert resident is not None and resident > 10 * 2**20


def test_quick_bench_reports_every_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.json"
    assert main(["--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "GET /healthz" in printed and "quiz SSE" in printed
    assert "real server vs floor" in printed and "many streams" in printed
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

    _check_floor(results["floor"])
    _check_many_streams(results["many_streams"])
    assert "LangGraph protocol vs v1 SSE" in printed
    _check_protocol(results["protocol"])
    # The retrieval rows come with a pgvector server (CI starts one), side by side with the scan.
    if os.environ.get("STEMGRAPH_TEST_PGVECTOR_URL"):
        assert "pgvector + full text" in printed
        for row in results["retrieval"]["rows"]:
            assert row["sql"]["p50_ms"] > 0 and row["scan"]["p50_ms"] > 0, row
    else:
        assert "retrieval" not in results


FLOOR_METRICS = (
    "server_cpu_us_per_event",
    "server_cpu_us_per_stream",
    "streams_per_s_c1",
    "streams_per_s_c8",
    "first_byte_p50_ms",
    "first_token_p50_ms",
)


def _check_floor(floor: dict[str, Any]) -> None:
    for side in ("server", "floor"):
        row = floor[side]
        # Both stream every part of every run: same graph, input and model, same events.
        assert row["completed_streams"] == row["streams"] > 0, (side, row)
        for metric in FLOOR_METRICS:
            assert row[metric] > 0, (side, metric, row)
        assert row["first_token_p50_ms"] >= row["first_byte_p50_ms"], (side, row)
        assert row["rounds"] == len(row["runs"]) > 0
        for concurrency in ("c1", "c8"):
            assert row["runs"][0][concurrency]["errors"] == 0, (side, concurrency)
    assert floor["server"]["events_per_stream"] == floor["floor"]["events_per_stream"]
    for metric in FLOOR_METRICS:
        expected = floor["server"][metric] / floor["floor"][metric]
        assert floor["ratios"][metric] == pytest.approx(expected, rel=1e-2), metric
    # The JSON route against the floor's `ainvoke` answer, at concurrency 1 and 8.
    for side in ("server", "floor"):
        for concurrency in ("c1", "c8"):
            row = floor["json"][side][concurrency]
            assert row["requests"] > 0 and row["errors"] == 0, (side, concurrency, row)
            assert row["questions"] == QUESTION_COUNT and row["provider"] == FAKE_PROVIDER
    for key in ("c1", "c8"):
        expected = floor["json"]["server"][key]["rps"] / floor["json"]["floor"][key]["rps"]
        assert floor["json"]["ratios"][f"rps_{key}"] == pytest.approx(expected, rel=1e-2)


PROTOCOL_METRICS = (
    "runs_per_s_c1",
    "runs_per_s_c8",
    "server_cpu_us_per_event",
    "first_event_p50_ms",
    "first_event_p95_ms",
)


def _check_protocol(section: dict[str, Any]) -> None:
    """Every call streamed every run to its final state, and every row is a positive number."""
    calls = [("stemgraph", kind) for kind in ("stateless", "thread", "v1")]
    if section["dev"] is None:
        # Skipped only with a reason, and never under CI (the Makefile builds the studio venv).
        assert section["dev_skipped"] and os.environ.get("CI", "").lower() != "true"
    else:
        calls += [("dev", kind) for kind in ("stateless", "thread")]
    for side, kind in calls:
        row = section[side][kind]
        for concurrency in ("c1", "c8"):
            run = row[concurrency]
            assert run["completed"] == run["streams"] > 0 and run["errors"] == 0, (side, kind)
            assert run["events_by_type"]["values"] >= run["streams"], (side, kind, run)
            assert run["first_event_p95_ms"] >= run["first_event_p50_ms"], (side, kind, run)
        for metric in PROTOCOL_METRICS:
            assert isinstance(row[metric], float | int) and row[metric] > 0, (side, kind, metric)
    ours = section["stemgraph"]
    for kind in ("stateless", "thread"):
        expected = ours[kind]["server_cpu_us_per_event"] / ours["v1"]["server_cpu_us_per_event"]
        assert section["ratios"][f"cpu_per_event_{kind}_vs_v1"] == pytest.approx(expected, 1e-2)
        if section["dev"] is not None:
            theirs = section["dev"][kind]["runs_per_s_c8"]
            assert section["ratios"][f"runs_per_s_c8_{kind}_vs_dev"] == pytest.approx(
                ours[kind]["runs_per_s_c8"] / theirs, 1e-2
            )


def _check_many_streams(many: dict[str, Any]) -> None:
    loads = [many["load"], *many["load_coalesced"], many["load_low"], many["load_low_coalesced"]]
    for key, load in enumerate(loads):
        assert load["completed"] > 0 and load["errors"] == 0, (key, load)
        assert load["tokens"] >= load["completed"] * load["tokens_per_run"], (key, load)
        for metric in (
            "token_delay_p50_ms",
            "token_delay_p99_ms",
            "head_p50_ms",
            "first_token_p50_ms",
            "tokens_per_s_per_stream_p50",
            "open_streams_mean",
            "streaming_mean",
            "server_cpu_s",
            "server_rss_mb",
        ):
            assert load[metric] > 0, (key, metric, load)
        assert load["token_delay_p99_ms"] >= load["token_delay_p50_ms"]
        assert load["first_token_p50_ms"] >= load["head_p50_ms"]
        # The model streams 50 tokens/s: a stream cannot receive them faster than they leave.
        assert load["tokens_per_s_per_stream_p50"] <= load["model_tokens_per_s"] * 1.1, load
    assert many["load"]["streams"] > many["load_low"]["streams"]
    plain = many["load"]
    assert plain["coalesce_ms"] == 0
    assert [c["coalesce_ms"] for c in many["load_coalesced"]] == many["config"]["coalesce_ms"]
    # Every token still arrives, each stamp once; coalesced events carry several of them.
    assert plain["token_events"] == plain["tokens"]
    assert many["load_low_coalesced"]["coalesce_ms"] == many["config"]["coalesce_ms"][0]
    pairs = [(plain, c) for c in many["load_coalesced"]]
    for uncoalesced, coalesced in [*pairs, (many["load_low"], many["load_low_coalesced"])]:
        assert coalesced["streams"] == uncoalesced["streams"]
        assert coalesced["tokens_per_event"] > 1.5, coalesced

    leak = many["leak"]
    assert leak["runs"] == leak["runs_target"] and leak["errors"] == 0, leak
    assert leak["rss_first_mb"] > 0 and leak["rss_last_mb"] > 0, leak
    assert leak["rss_ratio"] == pytest.approx(leak["rss_last_mb"] / leak["rss_first_mb"], 1e-2)

    stalled = many["stalled"]
    assert stalled["failed"] == [], stalled
    assert stalled["started"] == stalled["clients"] > 0, stalled
    # The server aborts a connection its client has not read from for the send timeout
    # (`server.serving`): by the time they look again, every stalled client was cut.
    assert stalled["all_closed"] and stalled["completed_anyway"] == 0, stalled
    assert stalled["server_connections_peak"] == stalled["clients"], stalled
    assert stalled["send_timeout_s"] < stalled["server_released_after_s"] < stalled["stall_s"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_tree_cpu_counts_the_children() -> None:
    """`make dev`'s CPU is read over its process tree: a busy child adds to its parent's."""
    import subprocess
    import sys

    from bench.protocol import tree_cpu_seconds

    spin = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", spin + "\ntime.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while (cpu_seconds(child.pid) or 0.0) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        own, tree = cpu_seconds(os.getpid()), tree_cpu_seconds(os.getpid())
        assert own is not None and tree is not None
        assert tree - own >= 0.29
    finally:
        child.kill()
        child.wait()


async def test_the_timed_model_streams_stamped_tokens_on_schedule() -> None:
    model = TimedChatModel(tokens_per_s=50.0)
    before = time.monotonic_ns()
    started = time.perf_counter()
    chunks = [c async for c in model.astream([HumanMessage(bench_message(10, pad=3))])]
    took = time.perf_counter() - started
    text = "".join(str(c.content) for c in chunks)
    stamps = [int(s) for s in TOKEN.findall(text.encode())]
    assert len(stamps) == 10
    assert stamps == sorted(stamps) and stamps[0] >= before
    # Ten tokens at 50/s are due 20 ms apart: not before 0.2 s, and not much later.
    assert 0.2 <= took < 1.0
    assert (stamps[-1] - stamps[0]) / 1e9 >= 0.17
    assert "t" + str(stamps[0]) + "xxx " in text
    reply = json.loads(text)
    assert reply["safety"] == "ok" and reply["citations"] == []
    assert reply["answer"].split() == [f"t{s}xxx" for s in stamps]


def test_offline_engine_timings_come_with_their_budgets() -> None:
    from bench import offline

    results = offline.run()
    assert set(results) == set(offline.BUDGET_MS)
    for name, row in results.items():
        assert row["best_ms"] > 0, name
        assert row["budget_ms"] == offline.BUDGET_MS[name]
    assert "flashcards_100k" in offline.format_rows(results)
