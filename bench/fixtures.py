"""The request bodies and the scripted model reply the benchmarks use."""

from __future__ import annotations

import json
from typing import Any, Final

API_KEY: Final = "bench-key"
QUESTION_COUNT: Final = 5
FAKE_PROVIDER: Final = "openai"
FAKE_MODEL: Final = "fake-quiz-model"
TIMED_MODEL: Final = "timed-chat-model"

# About 2 KB of class material: long enough to be realistic, short enough to stay cheap.
MATERIAL_CONTEXT: Final = (
    "Photosynthesis is the process by which green plants, algae and some bacteria convert "
    "light energy into chemical energy. It takes place mainly in the chloroplasts of leaf "
    "cells, which contain the green pigment chlorophyll. Chlorophyll absorbs red and blue "
    "light most strongly and reflects green light, which is why leaves look green.\n\n"
    "The overall equation of photosynthesis is 6 CO2 + 6 H2O -> C6H12O6 + 6 O2. Carbon "
    "dioxide enters the leaf through small pores called stomata, and water is carried up "
    "from the roots through the xylem. The oxygen released as a by-product comes from the "
    "splitting of water molecules, a reaction called photolysis.\n\n"
    "Photosynthesis has two stages. The light-dependent reactions happen in the thylakoid "
    "membranes; they use light energy to make ATP and NADPH and release oxygen. The "
    "light-independent reactions, also called the Calvin cycle, happen in the stroma; they "
    "use ATP and NADPH to fix carbon dioxide into glucose. The enzyme that fixes carbon "
    "dioxide in the Calvin cycle is called RuBisCO, and it is thought to be the most "
    "abundant protein on Earth.\n\n"
    "The rate of photosynthesis depends on light intensity, carbon dioxide concentration "
    "and temperature. When one of these factors is in short supply it limits the rate, "
    "and it is called a limiting factor. Raising the temperature speeds up the reactions "
    "until about 35 degrees Celsius, after which the enzymes begin to denature and the rate "
    "falls.\n\n"
    "Glucose made by photosynthesis is used in cellular respiration to release energy, "
    "stored as starch, or converted into cellulose to build cell walls. Respiration happens "
    "in the mitochondria of both plant and animal cells, day and night, while "
    "photosynthesis happens only in the light. Together the two processes cycle carbon and "
    "oxygen between living things and the atmosphere."
)

_QUIZ: Final[dict[str, Any]] = {
    "questions": [
        {
            "question": "Where in the leaf cell does photosynthesis mainly take place?",
            "choices": ["Chloroplasts", "Mitochondria", "Nucleus", "Ribosomes"],
            "answer": "Chloroplasts",
            "explanation": "Chloroplasts contain chlorophyll, which absorbs the light used.",
        },
        {
            "question": "Which gas is released as a by-product of photosynthesis?",
            "choices": ["Oxygen", "Carbon dioxide", "Nitrogen", "Hydrogen"],
            "answer": "Oxygen",
            "explanation": "Oxygen comes from splitting water molecules (photolysis).",
        },
        {
            "question": "What is the name of the light-independent reactions?",
            "choices": ["The Calvin cycle", "Glycolysis", "The Krebs cycle", "Photolysis"],
            "answer": "The Calvin cycle",
            "explanation": "The Calvin cycle fixes carbon dioxide into glucose in the stroma.",
        },
        {
            "question": "Through which pores does carbon dioxide enter the leaf?",
            "choices": ["Stomata", "Xylem vessels", "Root hairs", "Thylakoids"],
            "answer": "Stomata",
            "explanation": "Stomata are the small pores on the leaf surface.",
        },
        {
            "question": "Which enzyme fixes carbon dioxide in the Calvin cycle?",
            "choices": ["RuBisCO", "Amylase", "ATP synthase", "Catalase"],
            "answer": "RuBisCO",
            "explanation": "RuBisCO is thought to be the most abundant protein on Earth.",
        },
    ]
}

# What the scripted model answers every time: a quiz that passes every contract rule.
VALID_QUIZ_JSON: Final = json.dumps(_QUIZ, ensure_ascii=False)


def quiz_body() -> dict[str, Any]:
    """The `POST /v1/quiz/generate` body every quiz benchmark sends."""
    return {
        "class_title": "Biology 101",
        "question_count": QUESTION_COUNT,
        "instructions": "Focus on the key terms.",
        "blueprint_context": None,
        "material_context": MATERIAL_CONTEXT,
    }
