"""Shared graph helpers: JSON extraction, source selection/formatting, usage totals."""

from __future__ import annotations

import pytest

from graphs.shared.jsonout import parse_json_object
from graphs.shared.sources import (
    MAX_CHUNKS_PER_MATERIAL,
    MAX_CONTEXT_TOKENS,
    LabelledSource,
    format_sources,
    parse_sources,
    select_chunks,
)
from graphs.shared.usage import add_usage
from tools.models.router import Usage
from tools.store.base import ChunkHit

# --- parse_json_object ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  \n{"questions": [{"q": "Why?"}]}\n ', {"questions": [{"q": "Why?"}]}),
        ('```json\n{"a": 1, "b": [1, 2]}\n```', {"a": 1, "b": [1, 2]}),
        ('```\n{"plain": true}\n```', {"plain": True}),
        ('Here is the quiz:\n```json\n{"n": 2}\n```\nGood luck!', {"n": 2}),
        ('Sure! Here it is: {"answer": "343 m/s"} Hope that helps.', {"answer": "343 m/s"}),
        (
            '{"a": "closing } and opening { braces", "b": {"c": "}"}}',
            {
                "a": "closing } and opening { braces",
                "b": {"c": "}"},
            },
        ),
        ('{"quote": "she said \\"{hi}\\""}', {"quote": 'she said "{hi}"'}),
        ('{"first": 1} and then {"second": 2}', {"first": 1}),
        (
            '{"unicode": "E = mc²", "nested": {"deep": {"x": null}}}',
            {
                "unicode": "E = mc²",
                "nested": {"deep": {"x": None}},
            },
        ),
        ("{}", {}),
    ],
)
def test_parse_json_object_finds_the_object(text: str, expected: dict[str, object]) -> None:
    assert parse_json_object(text) == expected


def test_a_broken_fence_falls_back_to_a_later_valid_fence() -> None:
    text = '```json\n{"a": 1,,}\n```\nFixed:\n```json\n{"a": 2}\n```'
    assert parse_json_object(text) == {"a": 2}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "No JSON here at all.",
        "[1, 2, 3]",
        '["a", "b"]',
        '"just a string"',
        "42",
        "null",
        "{not: valid json}",
        '{"unterminated": "value"',
        "```json\n```",
    ],
)
def test_parse_json_object_returns_none_without_an_object(text: str) -> None:
    assert parse_json_object(text) is None


def test_a_json_array_of_objects_is_not_an_object() -> None:
    assert parse_json_object('[{"question": "Q1"}, {"question": "Q2"}]') is None


def test_braces_in_prose_before_the_object_do_not_hide_it() -> None:
    text = 'For $v = x^{2}$ the result is: {"answer": "2x"}'
    assert parse_json_object(text) == {"answer": "2x"}


# --- select_chunks / format_sources -----------------------------------------------------------


def hit(material: str, index: int, content: str = "text", *, title: str = "T") -> ChunkHit:
    return ChunkHit(
        material_id=material,
        material_title=title,
        source_type="pdf",
        chunk_index=index,
        section=None,
        content=content,
        score=1.0 / (index + 1),
    )


def test_select_chunks_caps_each_material_at_six() -> None:
    assert MAX_CHUNKS_PER_MATERIAL == 6
    hits = [hit("a", i) for i in range(9)] + [hit("b", i) for i in range(3)]
    chosen = select_chunks(hits)
    assert [(h.material_id, h.chunk_index) for h in chosen] == [
        *(("a", i) for i in range(6)),
        *(("b", i) for i in range(3)),
    ]


def test_select_chunks_keeps_best_first_order_across_materials() -> None:
    hits = [hit("a", 0), hit("b", 0), hit("a", 1), hit("c", 0), hit("b", 1)]
    assert select_chunks(hits, per_material=1) == [hits[0], hits[1], hits[3]]


def test_select_chunks_respects_the_token_budget() -> None:
    assert MAX_CONTEXT_TOKENS == 24_000
    hits = [
        hit("a", 0, "x" * 400),  # 100 tokens
        hit("b", 0, "x" * 800),  # 200 tokens: does not fit after the first
        hit("c", 0, "x" * 200),  # 50 tokens: still fits
        hit("d", 0, "x" * 40),  # 10 tokens: would exceed 150
    ]
    chosen = select_chunks(hits, token_budget=150)
    assert chosen == [hits[0], hits[2]]
    assert select_chunks(hits, token_budget=99) == [hits[2], hits[3]]
    assert select_chunks(hits, token_budget=360) == hits


def test_select_chunks_default_budget_is_24000_tokens() -> None:
    hits = [hit(f"m{i}", 0, "y" * 4000) for i in range(30)]  # 1,000 tokens each
    assert len(select_chunks(hits)) == 24


def test_select_chunks_of_nothing_is_nothing() -> None:
    assert select_chunks([]) == []


def test_format_sources_headers_and_bodies() -> None:
    hits = [
        ChunkHit("m1", "Forces", "pdf", 0, "Intro", "A force is a push.", 2.0),
        ChunkHit("m2", "Waves & Sound", "markdown", 4, None, "Sound\u200b is a wave.", 1.0),
    ]
    assert format_sources(hits) == (
        "Source 1 | Forces | pdf 1\nA force is a push.\n\n"
        "Source 2 | Waves & Sound | markdown 5\nSound is a wave."
    )
    assert format_sources([]) == ""


def test_format_sources_numbers_every_hit_in_order() -> None:
    hits = [hit("a", i, f"body {i}", title=f"Title {i}") for i in range(3)]
    lines = [line for line in format_sources(hits).splitlines() if line.startswith("Source")]
    assert lines == [f"Source {i + 1} | Title {i} | pdf {i + 1}" for i in range(3)]


def test_parse_sources_reads_back_what_format_sources_writes() -> None:
    hits = [hit("a", i, f"Body {i}.", title=f"Title {i}") for i in range(3)]
    assert parse_sources(format_sources(hits)) == [
        LabelledSource(label=f"Source {i + 1}", title=f"Title {i}", text=f"Body {i}.")
        for i in range(3)
    ]


def test_parse_sources_without_headers_is_one_class_material() -> None:
    assert parse_sources("  Sound is a wave.\u200b ") == [
        LabelledSource(label="Source 1", title="Class material", text="Sound is a wave.")
    ]
    assert parse_sources(" \n ") == []


def test_parse_sources_keeps_text_before_the_first_header() -> None:
    context = "Week 3 notes.\n\nSource 1 | Waves | markdown 1\nSound is a wave."
    assert parse_sources(context) == [
        LabelledSource(label="Source 1", title="Source 1", text="Week 3 notes."),
        LabelledSource(label="Source 1", title="Waves", text="Sound is a wave."),
    ]


def test_parse_sources_titles_untitled_headers_and_skips_empty_ones() -> None:
    context = "[Source 2]\nLight.\nSource 3 | Heat | pdf 1 | extra\n\nSource 4 |\n"
    assert parse_sources(context) == [
        LabelledSource(label="Source 2", title="Source 2", text="Light."),
    ]
    context = "[Source 2]\nLight.\nSource 3 | Heat | pdf 1 | extra\nHot.\nSource 4 |\n"
    assert [(s["label"], s["title"]) for s in parse_sources(context)] == [
        ("Source 2", "Source 2"),
        ("Source 3", "Heat"),
    ]


# --- add_usage --------------------------------------------------------------------------------


def test_add_usage() -> None:
    assert add_usage(None, None) is None
    assert add_usage(None, Usage(1, 2, 3)) == {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
    }
    total = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
    assert add_usage(total, None) == total
    assert add_usage(total, Usage(1, 2, 3)) == {
        "prompt_tokens": 11,
        "completion_tokens": 22,
        "total_tokens": 33,
    }
    assert total == {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}


def test_add_usage_accumulates_over_several_calls() -> None:
    total: dict[str, int] | None = None
    for usage in (Usage(5, 1, 6), None, Usage(7, 3, 10)):
        total = add_usage(total, usage)
    assert total == {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
