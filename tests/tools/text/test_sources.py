"""`Source N` header lines in material."""

from __future__ import annotations

import pytest

from tools.text.sources import is_source_header


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
