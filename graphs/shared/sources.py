"""Retrieved material as labelled sources (`Source N | title | type index`)."""

from __future__ import annotations

from collections.abc import Sequence

from tools.store.base import ChunkHit
from tools.text import estimate_tokens, strip_invisible

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
