"""The offline blueprint engine: structure, keys, levels, prerequisites, evidence and honesty."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tools.offline.blueprint import offline_blueprint
from tools.offline.blueprint_objectives import equation_in, name_in_sentence, sentence_kind
from tools.offline.blueprint_topics import kebab, topic_sections, unique_keys
from tools.payloads.blueprint import material_source_labels, validate_blueprint

PHYSICS = """Source 1 | Forces | markdown 1
# Forces and motion
## Newton's laws
Force is a push or a pull that can change the motion of an object. Newton's second law states
that the resultant force equals mass times acceleration, written F = m × a. A common
misconception is that a moving object needs a force to keep moving.
## Friction
Friction is a force that opposes motion between two surfaces in contact. Rough surfaces produce
more friction than smooth surfaces. Friction does not always slow things down: it lets us walk.

Source 2 | Energy | markdown 1
## Kinetic energy
Kinetic energy is the energy an object has because of its motion. It is calculated with
KE = ½ × m × v², so doubling the speed quadruples the kinetic energy. A 2 kg ball moving at
3 m/s has 9 J of kinetic energy.
## Power
Power is the rate at which energy is transferred. It is measured in watts. A 60 W lamp transfers
60 J every second, whereas a 100 W lamp transfers more energy in the same time.
"""

PLAIN = """Photosynthesis is the process by which green plants make glucose from carbon dioxide and
water using light energy. It takes place in the chloroplasts, which contain chlorophyll.

The rate of photosynthesis depends on light intensity, carbon dioxide concentration and
temperature. A factor that is in short supply and limits the rate is called a limiting factor.

Respiration is the process that releases energy from glucose in every living cell. Aerobic
respiration needs oxygen, whereas anaerobic respiration does not.

Yeast carries out anaerobic respiration to make ethanol and carbon dioxide, which is used in
brewing and baking. In muscles, anaerobic respiration produces lactic acid instead."""

MANY = "\n".join(
    f"## Unit {n} on element{n}\nElement{n} is a substance with property {n} that matters in the "
    f"laboratory. Students measure element{n} carefully every week with care.\n"
    for n in range(1, 15)
)

TINY = """# Chemistry
## Atoms
Atoms are tiny.
## Ions
Ions are charged atoms.
## Molecules
A molecule is two or more atoms bonded together by shared electrons in a fixed ratio.
## Bonds
Bonds hold atoms together in molecules and crystals of many different kinds and sizes.
"""


def build(text: str, count: int = 1, **kw: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"class_title": "Science", "subject": None, "level": None}
    options.update(kw)
    return offline_blueprint(text, material_count=count, **options)


def valid(text: str, count: int = 1) -> dict[str, Any]:
    payload = build(text, count)
    labels = material_source_labels(text, material_count=count)
    assert validate_blueprint(payload, source_labels=labels) == []
    return payload


@pytest.mark.parametrize(
    ("text", "count"),
    [(PHYSICS, 2), (PLAIN, 3), (MANY, 1), (TINY, 1), ("Energy is conserved.", 1), ("", 1)],
)
def test_every_blueprint_is_valid_and_deterministic(text: str, count: int) -> None:
    payload = valid(text, count)
    assert json.dumps(payload) == json.dumps(build(text, count))


def test_topics_follow_the_headings_in_reading_order() -> None:
    payload = valid(PHYSICS, 2)
    topics = payload["topics"]
    assert [t["key"] for t in topics] == ["newton-s-laws", "friction", "kinetic-energy", "power"]
    assert [t["sequence"] for t in topics] == [1, 2, 3, 4]
    # A heading without text of its own introduces the section after it.
    assert topics[0]["description"].endswith("Part of Forces and motion.")
    assert [[e["sourceLabel"] for e in t["evidence"]] for t in topics] == [
        ["Source 1"],
        ["Source 1"],
        ["Source 2"],
        ["Source 2"],
    ]
    assert "Forces" in topics[0]["evidence"][0]["rationale"]
    for objective in topics[3]["objectives"]:
        # Like the topic's, an objective's evidence is [{sourceLabel, rationale}].
        (evidence,) = objective["evidence"]
        assert set(evidence) == {"sourceLabel", "rationale"}
        assert evidence["sourceLabel"] == "Source 2"
        assert evidence["rationale"].startswith("Source 2 states: “")


def test_bloom_levels_follow_the_kind_of_sentence() -> None:
    topics = {t["key"]: t for t in valid(PHYSICS, 2)["topics"]}
    laws = topics["newton-s-laws"]["objectives"]
    assert [o["level"] for o in laws] == ["remember", "apply"]
    assert laws[0]["statement"] == "Define force and recognise it in examples."
    assert laws[1]["statement"] == "Use F = m × a to solve problems on Newton's laws."
    friction = topics["friction"]["objectives"]
    assert [o["level"] for o in friction] == ["remember", "understand", "analyze"]
    assert "Rough surfaces produce more friction" in friction[2]["masteryCriteria"]
    for topic in topics.values():
        assert 1 <= len(topic["objectives"]) <= 3
        assert topic["assessmentIdeas"]


def test_sentence_kinds_and_equations() -> None:
    assert sentence_kind("A catalyst is a substance that speeds up a reaction.") == "definition"
    assert sentence_kind("It is found with v = d / t in every case.") == "formula"
    assert sentence_kind("Sound travels at 343 m/s in air.") == "formula"
    assert sentence_kind("Unlike mitosis, meiosis makes four cells.") == "comparison"
    assert sentence_kind("Heating the gas causes the pressure to rise.") == "cause"
    assert sentence_kind("Plants grow towards light.") == "general"
    assert equation_in("so y = 2x + 5 crosses the axis at five.") == "y = 2x + 5"
    assert equation_in("P(A) = favourable outcomes ÷ total outcomes.") == (
        "P(A) = favourable outcomes ÷ total outcomes"
    )
    assert equation_in("a = Δv / t and measured in m/s².") == "a = Δv / t"
    assert equation_in("so x = 5 is correct.") is None
    # A symbol next to a symbol (or a number) multiplies it: the formula is kept whole.
    assert equation_in("mass times acceleration, F = m a.") == "F = m a"
    assert equation_in("F = m a is Newton's second law.") == "F = m a"
    assert equation_in("Kinetic energy is KE = ½ m v².") == "KE = ½ m v²"
    assert equation_in("Ohm's law is V = I R, so") == "V = I R"
    assert equation_in("A line is y = m x + c in general.") == "y = m x + c"
    # … but a lone "a" before a noun is the article, not a symbol.
    assert equation_in("Speed is v = d / t a cyclist knows.") == "v = d / t"
    assert equation_in("so x = 5 a day") is None


def test_names_keep_their_capitals_mid_sentence() -> None:
    assert name_in_sentence("Kinetic energy", "the kinetic energy of a ball") == "kinetic energy"
    assert name_in_sentence("Newton's laws", "Newton's laws state") == "Newton's laws"
    assert name_in_sentence("Venus", "Mercury, Venus and Earth") == "Venus"
    assert name_in_sentence("A solution is acidic", "") == "a solution is acidic"


def test_misconceptions_are_flagged_and_addressed() -> None:
    topics = {t["key"]: t for t in valid(PHYSICS, 2)["topics"]}
    flags = topics["newton-s-laws"]["misconceptionFlags"]
    assert flags == ["A common misconception is that a moving object needs a force to keep moving."]
    addressed = [o["misconceptionAddressed"] for o in topics["newton-s-laws"]["objectives"]]
    assert flags[0] in addressed
    assert topics["friction"]["misconceptionFlags"] == [
        "Friction does not always slow things down: it lets us walk."
    ]
    assert topics["kinetic-energy"]["misconceptionFlags"] == []
    assert any("misconception" in idea for idea in topics["friction"]["assessmentIdeas"])


def test_prerequisites_point_back_to_topics_sharing_key_terms() -> None:
    topics = valid(PHYSICS, 2)["topics"]
    assert topics[0]["prerequisites"] == []
    assert topics[1]["prerequisites"] == ["newton-s-laws"]
    assert topics[3]["prerequisites"] == ["kinetic-energy"]
    seen: set[str] = set()
    for topic in topics:
        assert set(topic["prerequisites"]) <= seen
        seen.add(topic["key"])


def test_too_many_sections_are_merged_down_to_ten_keeping_their_headings() -> None:
    payload = valid(MANY)
    topics = payload["topics"]
    assert 3 <= len(topics) <= 10
    covered = " ".join(f"{t['title']} {t['description']}" for t in topics)
    for n in range(1, 15):
        assert f"Unit {n} on element{n}".casefold() in covered.casefold()


def test_tiny_sections_merge_but_three_topics_remain() -> None:
    topics = valid(TINY)["topics"]
    assert [t["title"] for t in topics] == ["Atoms and ions", "Molecules", "Bonds"]
    assert topics[0]["description"].endswith("Part of Chemistry.")


def test_plain_text_is_cut_into_paragraph_topics_named_by_their_terms() -> None:
    payload = valid(PLAIN, 3)
    titles = [t["title"] for t in payload["topics"]]
    assert 3 <= len(titles) <= 10
    assert titles[0] == "Photosynthesis"
    assert all(t["evidence"][0]["sourceLabel"] == "Source 1" for t in payload["topics"])
    assert payload["qualityRubric"]["logicalProgression"] == "medium"
    assert any("no headings" in note for note in payload["qualityRubric"]["notes"])


def test_keys_are_kebab_case_and_unique() -> None:
    assert kebab("Newton's 2nd law: F = ma!") == "newton-s-2nd-law-f-ma"
    assert kebab("Ärger über Wärme") == "arger-uber-warme"
    assert unique_keys(["Review", "review", "熱", "Review"]) == [
        "review",
        "review-2",
        "topic-3",
        "review-3",
    ]
    text = "\n".join(
        f"Source {n} | Part {n} | markdown 1\n## Review\nTopic {n} is about idea number {n} and "
        f"explains why idea {n} matters for every student in the class this term."
        for n in (1, 2, 3)
    )
    topics = valid(text, 3)["topics"]
    assert [t["key"] for t in topics] == ["review", "review-part-2", "review-part-3"]
    assert [t["evidence"][0]["sourceLabel"] for t in topics] == ["Source 1", "Source 2", "Source 3"]


def test_a_short_material_is_split_only_where_each_part_keeps_sentences() -> None:
    assert len(topic_sections("Energy is conserved. It changes form.", class_title="X")) == 1
    text = "## Energy\n" + " ".join(f"Energy fact {n} is stated here clearly." for n in range(8))
    sections = topic_sections(text, class_title="X")
    assert len(sections) == 3
    assert sections[0].title.startswith("Energy")


def test_the_rubric_is_honest_about_thin_evidence() -> None:
    rich = valid(PHYSICS, 2)
    assert rich["qualityRubric"]["coverageCompleteness"] == "high"
    assert rich["qualityRubric"]["evidenceGrounding"] == "high"
    thin = valid(TINY)
    assert thin["qualityRubric"]["evidenceGrounding"] in ("low", "medium")
    assert any("little material" in note for note in thin["uncertaintyNotes"])
    assert any("without a language model" in note for note in thin["uncertaintyNotes"])


def test_summary_and_assumptions_mention_the_class() -> None:
    payload = build(PHYSICS, 2, class_title="Physics 10", subject="physics", level="GCSE")
    assert payload["summary"].startswith("Physics 10 (GCSE physics): 4 topics from 2 sources")
    assert payload["assumptions"][0] == "Students are working at GCSE level."
    short = build("Source 1 | Only | markdown 1\nForce is a push or a pull.", 3)
    assert any("3 materials were expected" in note for note in short["uncertaintyNotes"])


def test_empty_material_gives_an_honest_placeholder() -> None:
    payload = valid("   ")
    assert payload["qualityRubric"]["coverageCompleteness"] == "low"
    assert payload["uncertaintyNotes"] == [
        "The material held no text, so no topic is grounded in it."
    ]


FILE_NAMED = """Source 1 | forces.md | markdown 1
Newton's second law states that the resultant force on an object equals its mass times its
acceleration, F = m a. Force is measured in newtons. A common misconception is that a moving
object needs a force to keep moving.

Source 2 | Lecture_02_energy.pdf | pdf 2
Kinetic energy is the energy an object has because of its motion, KE = ½ m v². Doubling the speed
of a car quadruples its kinetic energy. Energy is measured in joules.

Source 3 | Source 3 | markdown 3
Momentum is the product of mass and velocity, p = m v. Momentum is conserved in every collision
when no external force acts. A heavy lorry has more momentum than a bicycle at the same speed.
"""

_FILE_OR_LABEL = re.compile(r"\.(?:md|pdf)\b|Lecture_02|\bSource \d", re.IGNORECASE)


def _wording(payload: dict[str, Any]) -> list[str]:
    return [
        text
        for topic in payload["topics"]
        for text in [topic["title"], *(o["statement"] for o in topic["objectives"])]
    ]


def test_sources_titled_by_file_name_give_topics_named_after_their_ideas() -> None:
    """Regression: topics were titled "forces.md: Newton" and objectives read
    "Use F = m to solve problems on forces.md: Newton."."""
    payload = valid(FILE_NAMED, 3)
    topics = payload["topics"]
    assert [t["title"] for t in topics] == ["Newton's second law", "Kinetic energy", "Momentum"]
    assert [t["key"] for t in topics] == ["newton-s-second-law", "kinetic-energy", "momentum"]
    assert all(t["section"] is None for t in topics)  # no file name stands in for a section
    assert [text for text in _wording(payload) if _FILE_OR_LABEL.search(text)] == []
    assert not _FILE_OR_LABEL.search(payload["summary"])
    statements = [o["statement"] for t in topics for o in t["objectives"]]
    assert "Use F = m a to solve problems on Newton's second law." in statements
    assert "Use p = m v to solve problems on momentum." in statements


def test_headed_material_keeps_its_headings_whatever_the_file_is_called() -> None:
    text = PHYSICS.replace("| Forces |", "| forces.md |").replace("| Energy |", "| energy.MD |")
    topics = valid(text, 2)["topics"]
    assert [t["title"] for t in topics] == ["Newton's laws", "Friction", "Kinetic energy", "Power"]
    assert [text for text in _wording({"topics": topics}) if _FILE_OR_LABEL.search(text)] == []
    assert "forces.md" not in json.dumps(topics)


def test_a_single_unheaded_file_is_named_by_its_terms() -> None:
    text = "Source 1 | week3_notes.docx | docx 1\n" + PLAIN
    payload = valid(text, 1)
    titles = [t["title"] for t in payload["topics"]]
    assert titles[0] == "Photosynthesis"
    assert [t for t in _wording(payload) if "week3" in t or ".docx" in t] == []
