"""Tests for the deterministic offline quiz engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from tools.offline.quiz import offline_quiz
from tools.payloads.quiz import validate_quiz
from tools.text import fold, normalise_text
from tools.text.clean import clean_material

PHYSICS = """Source 1 | Newton's laws | material 1
# Forces and motion

**Force** is a push or a pull that can change the motion of an object.
The SI unit of force is the newton.
Newton's first law states that an object stays at rest or keeps moving at constant velocity \
unless a resultant force acts on it.
Newton's second law states that the resultant force equals mass times acceleration.
- Acceleration is measured in metres per second squared.
- The acceleration due to gravity near Earth's surface is about 9.8 m/s².
Momentum is the product of the mass and the velocity of an object.

Source 2 | Waves and energy | material 2
The speed of light in a vacuum is about 3.00 × 10^8 m/s.
Sound travels through air at about 343 m/s at room temperature.
Power is the rate at which energy is transferred and it is measured in watts.
Kinetic energy is the energy an object has because of its motion.
"""

CHEMISTRY = """## Atoms and reactions
An atom is the smallest particle of a chemical element that can exist.
The nucleus contains protons and neutrons, while electrons occupy shells around it.
Avogadro's constant is approximately 6.022 × 10²³ particles per mole.
A catalyst is a substance that speeds up a reaction without being used up.
Water has the chemical formula H2O, and table salt is NaCl.
An exothermic reaction releases energy to the surroundings.
Carbon dioxide (CO2) is produced when fuels burn in oxygen.
The molar mass of carbon is 12.01 g/mol.
"""

BIOLOGY = """Source 1 | Cells | material 1
Photosynthesis converts light energy into chemical energy stored in glucose.
The mitochondria are the site of aerobic respiration in the cell.
Human body cells contain 46 chromosomes arranged in 23 pairs.
Osmosis is the movement of water across a partially permeable membrane.
Enzymes are biological catalysts that speed up reactions in living organisms.
DNA carries the genetic information of an organism and is found in the nucleus.
The human heart has four chambers: two atria and two ventricles.
Red blood cells transport oxygen around the body using haemoglobin.
"""

MATHS = """# Geometry basics
- The interior angles of a triangle add up to 180 degrees.
- Pythagoras' theorem states that the square of the hypotenuse equals the sum of the squares \
of the other two sides.
- A right angle measures exactly 90 degrees.
- The circumference of a circle is equal to pi times its diameter.
- A prime number is a whole number greater than 1 whose only factors are 1 and itself.
- The value of pi is approximately 3.14159.
- A polygon with eight sides is called an octagon.
"""

MATERIALS = {"physics": PHYSICS, "chemistry": CHEMISTRY, "biology": BIOLOGY, "maths": MATHS}
EVERYTHING = "\n\n".join(MATERIALS.values())
QUOTE = re.compile(r'^The material states: (?:"(.*)"|“(.*)”)$', re.DOTALL)


def quoted(item: dict[str, Any]) -> str:
    match = QUOTE.match(item["explanation"])
    assert match, item["explanation"]
    return str(match.group(1) or match.group(2))


def mentions(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(fold(phrase))}(?!\w)", fold(text)) is not None


@pytest.mark.parametrize("name", sorted(MATERIALS))
@pytest.mark.parametrize("count", [1, 5, 20])
def test_output_honours_the_quiz_contract(name: str, count: int) -> None:
    quiz = offline_quiz(MATERIALS[name], question_count=count)
    assert validate_quiz(quiz, question_count=count) == []
    assert 1 <= len(quiz["questions"]) <= count
    if count <= 5:
        assert len(quiz["questions"]) == count


@pytest.mark.parametrize("count", [1, 5, 20])
def test_question_count_is_reached_when_the_material_allows(count: int) -> None:
    quiz = offline_quiz(EVERYTHING, question_count=count)
    assert len(quiz["questions"]) == count
    assert validate_quiz(quiz, question_count=count) == []


def test_question_count_above_the_cap_is_clamped() -> None:
    quiz = offline_quiz(EVERYTHING, question_count=50)
    assert len(quiz["questions"]) == 20


@pytest.mark.parametrize(
    "material", ["", "   \n\n", "Source 1 | Empty | material 1\n", "# Title\n---\n", "Hi there."]
)
def test_unusable_material_gives_no_questions(material: str) -> None:
    assert offline_quiz(material, question_count=5) == {"questions": []}


def test_non_positive_count_gives_no_questions() -> None:
    assert offline_quiz(PHYSICS, question_count=0) == {"questions": []}


def test_a_single_factual_sentence_gives_one_question() -> None:
    quiz = offline_quiz("Light from the Sun takes about 8 minutes to reach us.", question_count=5)
    assert len(quiz["questions"]) == 1
    assert quiz["questions"][0]["answer"] == "8 minutes"
    assert validate_quiz(quiz, question_count=5) == []


def test_a_single_sentence_without_numbers_or_definitions_still_gives_one_question() -> None:
    quiz = offline_quiz(
        "Green plants make their own food from sunlight and water.", question_count=3
    )
    assert len(quiz["questions"]) == 1
    assert validate_quiz(quiz, question_count=3) == []


@pytest.mark.parametrize("name", sorted(MATERIALS))
def test_output_is_deterministic(name: str) -> None:
    first = offline_quiz(MATERIALS[name], question_count=10, instructions="focus on energy")
    second = offline_quiz(MATERIALS[name], question_count=10, instructions="focus on energy")
    assert first == second


def test_output_does_not_depend_on_the_hash_seed() -> None:
    script = (
        "import json, sys\n"
        "from tools.offline.quiz import offline_quiz\n"
        "print(json.dumps(offline_quiz(sys.stdin.read(), question_count=20)))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=EVERYTHING,
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=os.getcwd(),
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0] == offline_quiz(EVERYTHING, question_count=20)


@pytest.mark.parametrize("name", sorted(MATERIALS))
def test_answers_and_quotes_come_from_the_material(name: str) -> None:
    material = MATERIALS[name]
    cleaned = clean_material(material)
    for item in offline_quiz(material, question_count=20)["questions"]:
        quote = quoted(item)
        assert quote in cleaned
        assert item["answer"] in quote
        assert item["answer"] in cleaned


def test_quotes_are_verbatim_in_the_normalised_material_when_it_has_no_markup() -> None:
    material = BIOLOGY.replace("Source 1 | Cells | material 1\n", "")
    normalised = normalise_text(material)
    quiz = offline_quiz(material, question_count=20)
    assert quiz["questions"]
    for item in quiz["questions"]:
        assert quoted(item) in normalised


@pytest.mark.parametrize("name", sorted(MATERIALS))
def test_distractors_are_not_also_correct(name: str) -> None:
    for item in offline_quiz(MATERIALS[name], question_count=20)["questions"]:
        quote, answer = quoted(item), item["answer"]
        distractors = [c for c in item["choices"] if c != answer]
        assert len(distractors) == 3
        for distractor in distractors:
            assert not mentions(quote, distractor), (distractor, quote)
            assert fold(distractor) not in fold(answer)
            assert fold(answer) not in fold(distractor)


def test_questions_and_answers_are_all_different() -> None:
    questions = offline_quiz(EVERYTHING, question_count=20)["questions"]
    assert len({fold(q["question"]) for q in questions}) == len(questions)
    assert len({fold(q["answer"]) for q in questions}) == len(questions)
    assert len({quoted(q) for q in questions}) == len(questions)


def test_the_answer_is_not_always_in_the_same_position() -> None:
    questions = offline_quiz(EVERYTHING, question_count=20)["questions"]
    positions = {q["choices"].index(q["answer"]) for q in questions}
    assert len(positions) >= 3


def test_the_blank_hides_the_answer() -> None:
    for item in offline_quiz(EVERYTHING, question_count=20)["questions"]:
        assert not mentions(item["question"], item["answer"]), item["question"]


def test_numeric_distractors_share_the_answer_unit() -> None:
    questions = offline_quiz(PHYSICS, question_count=20)["questions"]
    light = next(q for q in questions if q["answer"] == "3.00 × 10^8 m/s")
    gravity = next(q for q in questions if q["answer"] == "9.8 m/s²")
    assert all(c.endswith(" m/s") and "× 10^" in c for c in light["choices"])
    assert all(c.endswith(" m/s²") for c in gravity["choices"])


def test_unit_questions_use_unit_distractors() -> None:
    questions = offline_quiz(PHYSICS, question_count=20)["questions"]
    si = next(q for q in questions if q["question"].startswith("What is the SI unit of force"))
    assert si["answer"] == "newton"
    assert all(" " not in c and c.islower() for c in si["choices"])


def test_headers_markup_and_invisible_characters_never_leak() -> None:
    material = (
        "Source 1 | Energy | material 1\n"
        "**Kinetic\u200b energy** is the energy of a moving object.\n"
        "Source 2 | Heat | material 2\n"
        "Heat is measured in joules\ufeff and flows from hot to cold objects.\n"
        "The boiling point of water at sea level is 100 °C.\u2066\n"
    )
    quiz = offline_quiz(material, question_count=5)
    assert validate_quiz(quiz, question_count=5) == []
    assert len(quiz["questions"]) == 3
    invisible = re.compile("[\u200b-\u200f\u2060-\u206f\ufeff]")
    for item in quiz["questions"]:
        for text in [item["question"], item["explanation"], *item["choices"]]:
            assert not invisible.search(text)
            assert "Source" not in text and "|" not in text and "**" not in text


def test_instructions_bias_sentence_selection() -> None:
    material = (
        PHYSICS
        + "\n"
        + BIOLOGY
        + (
            "Photosynthesis takes place mainly in the chloroplasts of green plants.\n"
            "Chlorophyll absorbs the light needed for photosynthesis in leaves.\n"
        )
    )
    plain = offline_quiz(material, question_count=3)["questions"]
    focused = offline_quiz(material, question_count=3, instructions="Focus on photosynthesis")
    assert sum(mentions(quoted(q), "photosynthesis") for q in plain) < 3
    assert all(mentions(quoted(q), "photosynthesis") for q in focused["questions"])
    assert validate_quiz(focused, question_count=3) == []


def test_instructions_about_units_prefer_measurements() -> None:
    quiz = offline_quiz(EVERYTHING, question_count=4, instructions="focus on units")
    for item in quiz["questions"]:
        quote = quoted(item)
        assert re.search(r"\d|measured|SI unit", quote), quote


def test_questions_are_spread_across_the_material() -> None:
    quiz = offline_quiz(EVERYTHING, question_count=4)
    cleaned = clean_material(EVERYTHING)
    offsets = sorted(cleaned.index(quoted(q)) for q in quiz["questions"])
    assert offsets[-1] - offsets[0] > len(cleaned) // 2


def test_a_large_material_gives_a_full_valid_quiz() -> None:
    # Its speed is measured by `make bench` (bench/offline.py), not asserted here.
    sections = [
        f"Source {i} | Part {i} | material {i}\n"
        + text.replace("9.8", f"{i % 9 + 1}.{i % 7}").replace("46", str(40 + i))
        + f"\nSample {i} has a mass of about {i * 3 + 5} kg in the store room.\n"
        for i in range(40)
        for text in MATERIALS.values()
    ]
    material = "\n".join(sections)[:100_000]
    quiz = offline_quiz(material, question_count=20)
    assert validate_quiz(quiz, question_count=20) == []
    assert len(quiz["questions"]) == 20


def test_every_mention_of_the_answer_is_blanked() -> None:
    material = (
        "Friction is the force that resists sliding, and friction always acts against the "
        "direction of motion between two surfaces."
    )
    (item,) = offline_quiz(material, question_count=1)["questions"]
    assert item["answer"] == "Friction"
    assert item["question"].count("____") == 2
    assert not mentions(item["question"], "friction")


def test_repeated_sentences_across_sources_are_asked_once() -> None:
    sentence = "The boiling point of water at sea level is 100 °C."
    material = f"Source 1 | Heat\n{sentence}\nSource 2 | Heat again\n{sentence.upper()}\n{sentence}"
    quiz = offline_quiz(material, question_count=5)
    assert len(quiz["questions"]) == 1
    assert quoted(quiz["questions"][0]) == sentence


def test_a_repeated_value_is_blanked_everywhere() -> None:
    material = "Water boils at 100 °C, so a kettle switches off near 100 °C but not at 1100 °C."
    (item,) = offline_quiz(material, question_count=1)["questions"]
    assert item["answer"] == "100 °C"
    assert item["question"].count("____") == 2
    assert "1100 °C" in item["question"]
    assert "1100 °C" not in item["choices"]


def test_blueprint_is_accepted_and_keeps_the_contract() -> None:
    quiz = offline_quiz(EVERYTHING, question_count=6, blueprint="2 questions on cells, 4 on forces")
    assert validate_quiz(quiz, question_count=6) == []
    assert quiz == offline_quiz(
        EVERYTHING, question_count=6, blueprint="2 questions on cells, 4 on forces"
    )
