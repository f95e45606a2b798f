"""Embedding size and the hashed embeddings the router falls back to (no network, no weights).

Every stored vector has EMBEDDING_DIMENSIONS numbers (the database column is `vector(1536)`).
The hashed embedding is signed feature hashing of a text's stemmed words and adjacent word
pairs: texts that share vocabulary get a high cosine similarity, and the same text always gets
the same vector. Retrieval scores chunks with the same hashing in process.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from typing import Final

from tools.models.offline import OFFLINE_MODEL
from tools.text import normalise_text
from tools.text.words import stem, tokens

EMBEDDING_DIMENSIONS: Final = 1536


def hashed_model(dimensions: int = EMBEDDING_DIMENSIONS) -> str:
    """The model name recorded with hashed vectors of `dimensions` numbers."""
    return f"{OFFLINE_MODEL}-hash-{dimensions}"


def is_hashed_model(model: str) -> bool:
    """Whether vectors recorded under `model` are hashed ones (any size) or unlabelled."""
    return not model or model.startswith(OFFLINE_MODEL)


def hash_features(
    words: Sequence[str], *, dimensions: int = EMBEDDING_DIMENSIONS
) -> dict[int, float]:
    """The unit sparse vector of `words` and their adjacent pairs; {} for no words.

    Each feature adds `±(1 + ln count)` to one bucket (bucket and sign from its BLAKE2b hash).
    """
    features: Counter[str] = Counter(words)
    features.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    vector: dict[int, float] = {}
    for feature, count in features.items():
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[bucket] = vector.get(bucket, 0.0) + sign * (1.0 + math.log(count))
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {bucket: value / norm for bucket, value in vector.items() if value} if norm else {}


def offline_sparse_embedding(
    text: str, *, dimensions: int = EMBEDDING_DIMENSIONS
) -> dict[int, float]:
    """The non-zero entries of `offline_embedding(text)` (cheap to compare: few entries)."""
    found = hash_features([stem(t) for t in tokens(normalise_text(text))], dimensions=dimensions)
    # Text with no words still needs a valid, finite, non-zero vector for `vector(1536)`.
    return found or {0: 1.0}


def offline_embedding(text: str, *, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """`text` as a dense unit vector of `dimensions` numbers (see `hash_features`)."""
    vector = [0.0] * dimensions
    for bucket, value in offline_sparse_embedding(text, dimensions=dimensions).items():
        vector[bucket] = value
    return vector
