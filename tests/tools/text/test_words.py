"""Words, the stopword list, the stemmer and content words."""

from __future__ import annotations

from tools.text.words import content_words, stem, words


def test_words_stem_and_content_words() -> None:
    assert words("Newton's law, well-known; 3 forces") == [
        "Newton's",
        "law",
        "well-known",
        "forces",
    ]
    assert [stem(w) for w in ("forces", "batteries", "glasses", "Newton's", "gas", "boxes")] == [
        "force",
        "battery",
        "glass",
        "newton",
        "gas",
        "box",
    ]
    assert content_words("Focus on the units of forces and photosynthesis") == [
        "focus",
        "unit",
        "force",
        "photosynthesis",
    ]
