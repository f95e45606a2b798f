"""Retrieved material as labelled sources (`Source N | title | type index`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from tools.store.base import ChunkHit
from tools.text import estimate_tokens, strip_invisible
from tools.text.sources import source_labels, split_sources

MAX_CHUNKS_PER_MATERIAL = 6
MAX_CONTEXT_TOKENS = 24_000


def select_chunks(
    hits: Sequence[ChunkHit],
    *,
    per_material: int = MAX_CHUNKS_PER_MATERIAL,
    token_budget: int = MAX_CONTEXT_TOKENS,
) -> list[ChunkHit]:
    """Best-first chunks within the per-material cap and the token budget."""
    chosen: list[ChunkHit] = []
    per: dict[str, int] = {}
    used = 0
    for hit in hits:
        cost = estimate_tokens(hit.content)
        if per.get(hit.material_id, 0) >= per_material or used + cost > token_budget:
            continue
        per[hit.material_id] = per.get(hit.material_id, 0) + 1
        used += cost
        chosen.append(hit)
    return chosen


def format_sources(hits: Sequence[ChunkHit]) -> str:
    """The contract's labelled context block, invisible characters removed."""
    blocks = []
    for number, hit in enumerate(hits, start=1):
        header = f"Source {number} | {hit.material_title} | {hit.source_type} {hit.chunk_index + 1}"
        blocks.append(f"{header}\n{strip_invisible(hit.content)}")
    return "\n\n".join(blocks)


class LabelledSource(TypedDict):
    """One `Source N` block as prompts and the offline tutor see it."""

    label: str
    title: str
    text: str


def labelled_sources(hits: Sequence[ChunkHit]) -> list[LabelledSource]:
    """Retrieved chunks as numbered sources, in the order `format_sources` prints them."""
    return [
        LabelledSource(
            label=f"Source {n}", title=hit.material_title, text=strip_invisible(hit.content)
        )
        for n, hit in enumerate(hits, start=1)
    ]


def parse_sources(context: str) -> list[LabelledSource]:
    """A caller's `material_context` as labelled sources (`tools.text.sources.split_sources`).

    Text without headers becomes a single `Source 1`, so every answer still has a label to cite;
    text before the first header is kept under the first header's label. Untitled sources are
    titled by their label, and headers with nothing under them are left out.
    """
    blocks = split_sources(context)
    labelled = bool(source_labels(context))
    return [
        LabelledSource(
            label=block.label,
            title=block.title or (block.label if labelled else "Class material"),
            text=block.text,
        )
        for block in blocks
        if block.text
    ]


def render_sources(sources: Sequence[LabelledSource]) -> str:
    return "\n\n".join(f"{s['label']} | {s['title']}\n{s['text']}" for s in sources)
