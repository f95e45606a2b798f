"""Cleaning class material into plain paragraphs."""

from __future__ import annotations

from tools.text.clean import clean_material, strip_markdown


def test_strip_markdown_removes_block_and_inline_markup() -> None:
    assert strip_markdown("## **Force** and `mass`") == "Force and mass"
    assert strip_markdown("- *Velocity* is a [vector](http://x.test/v).") == "Velocity is a vector."
    assert strip_markdown("3. Heat flows from hot to cold") == "Heat flows from hot to cold"
    assert strip_markdown("> quoted __text__") == "quoted text"
    assert strip_markdown("2 * 3 = 6 and snake_case_name") == "2 * 3 = 6 and snake_case_name"


def test_clean_material_drops_headers_markup_code_and_invisibles() -> None:
    raw = (
        "Source 1 | Forces | material 1\n"
        "# Forces\n"
        "\n"
        "**Force** is a push\u200b or a pull.\ufeff\n"
        "```\nprint('code')\n```\n"
        "| a | b |\n"
        "---\n"
        "- Mass is measured in kilograms\n"
        "- Weight is a force\n"
    )
    cleaned = clean_material(raw)
    assert cleaned.split("\n") == [
        "Forces",
        "Force is a push or a pull.",
        "Mass is measured in kilograms",
        "Weight is a force",
    ]


def test_clean_material_joins_hard_wrapped_lines_only() -> None:
    raw = (
        "Newton's second law states that the resultant force on an object\n"
        "equals its mass times its acceleration.\n"
        "Key facts\n"
        "Energy is conserved."
    )
    assert clean_material(raw).split("\n") == [
        "Newton's second law states that the resultant force on an object equals its mass "
        "times its acceleration.",
        "Key facts",
        "Energy is conserved.",
    ]
