"""The demo class's published course blueprint (contract schema v2), written by hand."""

from __future__ import annotations

from typing import Any, Final

DEMO_BLUEPRINT_ID: Final = "b1e00000-0000-4000-8000-000000000001"


def _topic(
    key: str,
    sequence: int,
    title: str,
    description: str,
    prerequisites: list[str],
    objectives: list[tuple[str, str]],
    ideas: list[str],
    misconceptions: list[str],
    source: int,
) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "description": description,
        "section": title,
        "sequence": sequence,
        "prerequisites": prerequisites,
        "objectives": [
            {
                "statement": statement,
                "level": level,
                "evidence": [
                    {"sourceLabel": f"Source {source}", "rationale": f"Covers {title.lower()}."}
                ],
            }
            for statement, level in objectives
        ],
        "assessmentIdeas": ideas,
        "misconceptionFlags": misconceptions,
        "evidence": [{"sourceLabel": f"Source {source}", "rationale": f"Covers {title.lower()}."}],
    }


DEMO_BLUEPRINT: Final[dict[str, Any]] = {
    "schemaVersion": "v2",
    "summary": "An introductory physical-science course: forces, energy, atoms and waves.",
    "assumptions": ["Students know basic algebra and SI prefixes."],
    "uncertaintyNotes": [],
    "qualityRubric": {
        "coverageCompleteness": "high",
        "logicalProgression": "high",
        "evidenceGrounding": "medium",
        "notes": ["Written by hand for the demo class."],
    },
    "topics": [
        _topic(
            "forces-and-motion",
            1,
            "Forces and Newton's laws",
            "Forces as pushes and pulls, Newton's three laws, weight, mass and friction.",
            [],
            [
                ("State Newton's three laws of motion.", "remember"),
                ("Use F = ma to find force, mass or acceleration.", "apply"),
            ],
            ["Calculate the weight of a 5 kg mass on Earth.", "Explain why a book stays at rest."],
            ["Heavier objects always fall faster."],
            1,
        ),
        _topic(
            "energy-work-power",
            2,
            "Energy, work and power",
            "Energy stores and transfers, work done, power and efficiency.",
            ["forces-and-motion"],
            [
                ("Calculate kinetic and gravitational potential energy.", "apply"),
                ("Compare the efficiency of two devices.", "analyze"),
            ],
            ["Rank three machines by efficiency from given data."],
            ["Energy is used up rather than transferred."],
            2,
        ),
        _topic(
            "atoms-and-bonding",
            3,
            "Atoms, the periodic table and bonding",
            "Subatomic particles, atomic number, ionic and covalent bonds.",
            [],
            [
                ("Describe the structure of an atom.", "understand"),
                ("Explain how ionic and covalent bonds form.", "understand"),
            ],
            ["Draw dot-and-cross diagrams for NaCl and H2O."],
            ["Electrons orbit like planets in fixed paths."],
            3,
        ),
        _topic(
            "waves-and-sound",
            4,
            "Waves and sound",
            "Transverse and longitudinal waves, frequency, wavelength and the speed of sound.",
            ["energy-work-power"],
            [
                ("Use v = f × λ to relate speed, frequency and wavelength.", "apply"),
                ("Classify waves as transverse or longitudinal.", "understand"),
            ],
            ["Work out the wavelength of a 343 Hz sound in air."],
            ["Sound can travel through a vacuum."],
            4,
        ),
    ],
}
