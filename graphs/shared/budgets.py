"""Per-graph call settings: temperature and the output-token cap of every model call.

Every call (first attempt and repairs alike) is capped: an uncapped repair once generated until
the request's 120 s deadline. Caps are sized to the payload with room to spare (about 4
characters per token); temperatures are low where the output is checked against fixed rules, a
little higher for the tutor's prose. The table is the constants at the end of this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.models.router import CallOptions


@dataclass(frozen=True, slots=True)
class Budget:
    """A graph's temperature and output cap: `base + per_item * items`, at most `ceiling`."""

    temperature: float
    base: int
    per_item: int = 0
    ceiling: int | None = None

    def tokens(self, items: int = 0) -> int:
        total = self.base + self.per_item * max(0, items)
        return min(total, self.ceiling) if self.ceiling is not None else total

    def options(self, items: int = 0, *, max_tokens: int | None = None) -> CallOptions:
        """JSON-mode options for one call; `max_tokens` (the caller's own cap) wins when set."""
        cap = max_tokens if max_tokens else self.tokens(items)
        return CallOptions(temperature=self.temperature, max_tokens=cap, json_mode=True)


# A question, 4 choices, the answer and a quoted explanation: 150-200 tokens.
QUIZ = Budget(temperature=0.3, base=300, per_item=250, ceiling=8_000)
# A term and a one- or two-sentence back: about 50 tokens.
FLASHCARDS = Budget(temperature=0.3, base=200, per_item=80, ceiling=6_000)
# 4-8 topics, each with objectives, outcomes, misconception flags and source labels.
BLUEPRINT = Budget(temperature=0.2, base=3_500)
# One small spec: at most 8 chart points, or a short Mermaid diagram.
CANVAS = Budget(temperature=0.2, base=700)
# One structured query of a few fields; planning should not vary between runs.
DATA_QUERY = Budget(temperature=0.0, base=300)
# Capped lists of short items (`graphs/teaching_brief/rules.py`).
TEACHING_BRIEF = Budget(temperature=0.3, base=1_500)
# A summary, at most 5 findings and 3 interventions, and one sentence per student.
INSIGHTS = Budget(temperature=0.3, base=700, per_item=70, ceiling=4_000)
# A tutor answer of a few paragraphs, its citations and a canvas hint; the request's own
# `max_tokens` replaces the default.
CHAT = Budget(temperature=0.4, base=900)
