"""Words: the one stopword list, the one stemmer, the one query tokenizer."""

from __future__ import annotations

import pytest

from tools.analytics import query as analytics
from tools.offline import data_query, safety
from tools.retrieval import content_text
from tools.store.materials import search_terms
from tools.text.words import STOPWORDS, content_words, query_terms, stem, tokens, words


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


def test_query_terms_keep_content_words_once() -> None:
    terms = query_terms("What is the SPEED of sound, and why is the speed of sound 343 m/s?")
    assert terms == ["speed", "sound", "343"]
    assert query_terms("what is it and why?") == []
    assert query_terms("énergie cinétique") == ["énergie", "cinétique"]
    assert query_terms("x" * 200 + " force") == ["force"]


def test_tokens_are_case_folded_letter_and_digit_runs() -> None:
    assert tokens("Newton's 2nd law: F=m·a (x-ray, H₂O)") == [
        "newton",
        "s",
        "2nd",
        "law",
        "f",
        "m",
        "a",
        "x",
        "ray",
        "h₂o",
    ]


def test_query_terms_cap_and_keep_numbers() -> None:
    assert query_terms("a b 7 c 42") == ["7", "42"]
    assert query_terms("Why?! __init__ ... force") == ["init", "force"]


@pytest.mark.parametrize("word", sorted(STOPWORDS))
def test_the_one_stopword_list_is_skipped_by_search_retrieval_and_the_offline_engine(
    word: str,
) -> None:
    for form in (word, word.upper(), word.capitalize()):
        assert search_terms(form) == []
        assert query_terms(form) == []
        assert content_text(form) == ""
        assert content_words(form) == []
        assert safety.query_words(f"{form}?") == []


def test_feature_fillers_add_to_the_one_stopword_list() -> None:
    assert STOPWORDS < analytics._FILLER
    assert STOPWORDS < data_query._ACTIVITY_FILLER
    assert STOPWORDS < data_query._TOPIC_FILLER


def test_stem_joins_inflections() -> None:
    assert {stem(w) for w in ("fall", "falls", "falling")} == {stem("fall")}
    assert {stem(w) for w in ("move", "moves", "moved", "moving")} == {stem("move")}
    assert stem("hardness") == stem("hard")
    assert stem("343") == "343" and stem("gas") == "gas"


@pytest.mark.parametrize(
    ("forms", "base"),
    [
        ("force forces forced forcing Force's", "force"),
        ("move moves moved moving", "move"),
        ("measure measures measured measuring", "measure"),
        ("store stores stored storing", "store"),
        ("charge charges charged charging", "charge"),
        ("cause causes caused causing", "cause"),
        ("relate relates related relating", "relate"),
        ("heat heats heated heating", "heat"),
        ("stop stops stopped stopping", "stop"),
        ("travel travels travelled travelling", "travel"),
        ("carry carries carried carrying", "carry"),
        ("oxidise oxidises oxidised oxidising", "oxidise"),
        ("continue continues continued continuing", "continue"),
        ("cycle cycles cycled cycling", "cycle"),
        ("transfer transfers transferred transferring", "transfer"),
        ("battery batteries", "battery"),
        ("glass glasses", "glass"),
        ("box boxes boxed", "box"),
        ("x-ray x-rays", "x-ray"),
        ("free-fall free-falling", "free-fall"),
        ("happy happiness", "happy"),
    ],
)
def test_the_one_stemmer_gives_every_form_its_base(forms: str, base: str) -> None:
    assert {stem(form) for form in forms.split()} == {base}
    assert stem(base) == base


@pytest.mark.parametrize("word", ["speed", "need", "thing", "string", "used", "gas", "focus"])
def test_the_stemmer_leaves_look_alike_endings(word: str) -> None:
    assert stem(word) == word


def test_retrieval_and_analytics_use_the_one_stemmer() -> None:
    text = "Forced charges kept moving; the bonding quizzes"
    assert content_text(text).split() == [stem(w) for w in tokens(text) if w not in STOPWORDS]
    assert content_text("forced moving") == "force move"
    assert analytics.words("Bonding, Newton's laws") == ["bond", "newton", "law"]


@pytest.mark.parametrize(
    "question",
    [
        "What's an X-ray's wavelength, Newton's?",
        "How do FORCES act on free-falling objects (e.g. 9.8 m/s²)?",
        "l'énergie cinétique des molécules",
    ],
)
def test_the_tutor_reads_a_question_as_search_does(question: str) -> None:
    searched = [stem(t) for t in query_terms(question) if t.isalpha()]
    assert safety.query_words(question) == [w for w in searched if len(w) >= 3]
    assert search_terms(question) == query_terms(question)
