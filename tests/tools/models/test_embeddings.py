"""Hashed embeddings: the embedding size, model names and the offline vectors."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from tools.models.embeddings import (
    EMBEDDING_DIMENSIONS,
    hash_features,
    hashed_model,
    is_hashed_model,
    offline_embedding,
    offline_sparse_embedding,
)
from tools.models.offline import OFFLINE_MODEL


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "text", ["Newton's second law: F = ma.", "", "   ", "!!! ??? ...", "😀", "x" * 50_000]
)
def test_offline_embedding_is_a_finite_unit_vector(text: str) -> None:
    vector = offline_embedding(text)
    assert len(vector) == EMBEDDING_DIMENSIONS == 1536
    assert all(isinstance(x, float) and math.isfinite(x) for x in vector)
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)
    assert any(x != 0.0 for x in vector)


def test_offline_embedding_is_deterministic() -> None:
    text = "Sound travels at about 343 m/s in air."
    assert offline_embedding(text) == offline_embedding(text)
    assert offline_embedding(text) != offline_embedding("Light travels much faster.")


def test_offline_embedding_similar_texts_are_closer_than_unrelated() -> None:
    anchor = offline_embedding("Force equals mass times acceleration in Newton's second law.")
    similar = offline_embedding("Newton's second law: acceleration equals force divided by mass.")
    unrelated = offline_embedding("Photosynthesis in chloroplasts produces glucose and oxygen.")
    assert cosine(anchor, similar) > cosine(anchor, unrelated) + 0.2
    assert cosine(anchor, anchor) == pytest.approx(1.0)


def test_offline_embedding_ignores_case_and_plural_s() -> None:
    assert offline_embedding("Waves and Forces") == offline_embedding("wave and force")


def test_hashed_model_names() -> None:
    assert hashed_model() == f"{OFFLINE_MODEL}-hash-{EMBEDDING_DIMENSIONS}"
    assert hashed_model(8) == f"{OFFLINE_MODEL}-hash-8"
    assert is_hashed_model(hashed_model(8)) and is_hashed_model("")
    assert not is_hashed_model("text-embedding-3-small")


def test_hash_features_of_no_words_is_empty_and_of_words_a_unit_vector() -> None:
    assert hash_features([]) == {}
    vector = hash_features(["force", "mass", "force"])
    assert math.isclose(math.sqrt(sum(v * v for v in vector.values())), 1.0)
    assert all(0 <= bucket < EMBEDDING_DIMENSIONS for bucket in vector)
    assert hash_features(["force", "mass"]) != hash_features(["mass", "force"])  # word pairs


def test_offline_embedding_hashes_the_one_stemmers_stems() -> None:
    assert offline_sparse_embedding("Forced MOVING") == hash_features(["force", "move"])
    assert offline_embedding("the forced objects moved") == offline_embedding(
        "The force object moves"
    )
    assert offline_embedding("Newton's laws") == offline_embedding("newton s law")
