"""The checkpoint bench on real Postgres: every row measured, counted and read back."""

from __future__ import annotations

import json

import pytest

from bench import checkpoints
from tests.conftest import postgres_url_or_skip


async def test_the_quick_checkpoint_bench_measures_both_savers_on_both_workloads() -> None:
    url = postgres_url_or_skip()
    config = checkpoints.Config(
        concurrencies={"chat": (1, 3), "invoke": (1, 3)}, turns=2, pool_size=3, rounds=1
    )
    results = await checkpoints.run(url, config)
    for workload in checkpoints.WORKLOADS:
        block = results[workload]
        cells = {(r["saver"], r["concurrency"]) for r in block["rows"]}
        assert cells == {(s, c) for s in checkpoints.SAVERS for c in (1, 3)}
        for row in block["rows"]:
            assert row["turns"] == row["concurrency"] * 2
            assert row["turns_per_s"] > 0 and row["cpu_ms_per_turn"] > 0, row
            assert row["statements_per_turn"] >= 2, row  # at least the read and the write
        assert set(block["scaling"]) == set(checkpoints.SAVERS)
        assert set(block["pooled_over_stock"]) == {"1", "3"}
    table = checkpoints.format_rows(results)
    assert "chat turns" in table and "one-step graph invokes" in table
    json.dumps(results)  # what `python -m bench` writes


def test_the_bench_hook_skips_without_postgres(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STEMGRAPH_TEST_POSTGRES_URL", raising=False)
    results: dict[str, object] = {}
    checkpoints.add_to(results, quick=True)
    assert "checkpoints" not in results
    assert "skipped" in capsys.readouterr().out
