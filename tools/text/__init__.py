"""Text analysis by job; no model, no network, the same output for the same input.

- `hygiene`: invisible characters, normalising, case/space folding, token estimates (re-exported
  here, since every layer needs them).
- `sources`: the one `Source N | title | type index` label parser.
- `clean`: class material as plain paragraphs (headers, Markdown and code removed).
- `sentences`: sentence splitting that keeps each sentence a verbatim slice.
- `words`: the one stopword list, the one stemmer, the one query tokenizer, content words.
- `terms`: key terms (definitions, names, formulas, units) of sentences and whole materials.
- `quantities`: numbers with their units, and writing other values the same way.
"""

from tools.text.hygiene import estimate_tokens, fold, normalise_text, strip_invisible

__all__ = ["estimate_tokens", "fold", "normalise_text", "strip_invisible"]
