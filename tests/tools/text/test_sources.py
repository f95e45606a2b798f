"""`Source N` header lines in material."""

from __future__ import annotations

import pytest

from tools.text.clean import clean_material
from tools.text.sources import (
    LABEL_LINE,
    SourceBlock,
    is_source_header,
    source_labels,
    split_sources,
)


@pytest.mark.parametrize(
    "line",
    [
        "Source 2 | Newton's laws | material 1",
        "source 12 | Cells",
        "## Source 3 | Photosynthesis | material 2",
        "[Source 4]",
        "Source 5",
        "Source 6: Newton's laws",
        "**Material 7** - Waves",
    ],
)
def test_source_headers_are_recognised(line: str) -> None:
    assert is_source_header(line)


@pytest.mark.parametrize(
    "line",
    [
        "Sources of energy include coal and wind.",
        "The source of the river is a spring.",
        "Material 1: Copper is a good conductor of heat.",
    ],
)
def test_prose_is_not_a_source_header(line: str) -> None:
    assert not is_source_header(line)


def test_source_blocks_keep_their_titles_and_text() -> None:
    text = "Source 1 | Forces | markdown 1\n# Forces\nA force.\n\n[Source 2]\nEnergy."
    blocks = split_sources(text)
    assert [(b.label, b.title) for b in blocks] == [("Source 1", "Forces"), ("Source 2", "")]
    assert blocks[0].text.strip() == "# Forces\nA force."
    assert split_sources("Plain text.") == [("Source 1", "", "Plain text.")]
    assert split_sources(" \n ") == []


def test_text_before_the_first_label_is_a_block_under_that_label() -> None:
    text = "Class notes for week 3.\n\nSource 2 | Waves | markdown 1\nSound is a wave."
    assert split_sources(text) == [
        SourceBlock("Source 2", "", "Class notes for week 3."),
        SourceBlock("Source 2", "Waves", "Sound is a wave."),
    ]
    assert source_labels(text) == ["Source 2"]


def test_bracketed_labels_and_extra_fields() -> None:
    text = (
        "[Source 1]\nForces.\n"
        "Source 02 | Waves | markdown 1 | week 3\nSound.\n"
        "  [Source 3] |  Light  |\nLight.\n"
        "Source 4 |\n"
    )
    assert split_sources(text) == [
        SourceBlock("Source 1", "", "Forces."),
        SourceBlock("Source 2", "Waves", "Sound."),
        SourceBlock("Source 3", "Light", "Light."),
        SourceBlock("Source 4", "", ""),
    ]
    assert source_labels(text + "\nSource 2 | Waves again\nMore.") == [
        "Source 1",
        "Source 2",
        "Source 3",
        "Source 4",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "## Source 3 | Photosynthesis | material 2",
        "source 12 | Cells",
        "Source 6: Newton's laws",
        "**Material 7** - Waves",
        "The Source 1 | x line",
        "Source one | Forces",
    ],
)
def test_only_the_platform_form_starts_a_block(line: str) -> None:
    text = f"Source 1 | Forces\nA force is a push.\n{line}\nMore text."
    assert [b.label for b in split_sources(text)] == ["Source 1"]


def test_every_label_line_is_a_header_that_cleaning_drops() -> None:
    text = "Lead.\n[Source 1] | A | pdf 1\nOne.\nSource 2\nTwo.\n  Source 3 | C |\nThree."
    lines = [m.group(0) for m in LABEL_LINE.finditer(text)]
    assert len(lines) == 3
    assert all(is_source_header(line) for line in lines)
    assert clean_material(text).split("\n") == ["Lead.", "One.", "Two.", "Three."]


def test_invisible_characters_do_not_hide_a_label() -> None:
    text = "Sou\u200brce 1 | Forces\nA force.\ufeff"
    assert split_sources(text) == [SourceBlock("Source 1", "Forces", "A force.")]
