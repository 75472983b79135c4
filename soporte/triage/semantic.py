"""Ranking by meaning, with the optional extra `soporte[semantic]` (the packaged
all-MiniLM-L6-v2 sentence embeddings, loaded from the installed package, offline).
Without it, or when it fails to load, ranking uses hashed word similarity (ml.vectors),
which needs no model at all."""

from __future__ import annotations

from collections.abc import Sequence

from soporte.search import semantic as search_semantic

from . import ml

# The model lives in soporte.search.semantic, shared with the article suggestions.
available = search_semantic.available
embed = search_semantic.embed


def rank(text: str, candidates: Sequence[str], words: Sequence[float] | None = None) -> list[float]:
    """A score per candidate (higher is closer): the cosine of sentence embeddings with
    the extra, mixed half and half with word similarity; word similarity alone without.
    `words`: the word similarities, when the caller computed them already."""
    if not candidates:
        return []
    if words is None:
        words = [float(s) for s in ml.similarities(ml.vectors([text]), ml.vectors(candidates))]
    meaning = search_semantic.closeness(text, candidates)
    if meaning is None:
        return [float(s) for s in words]
    return [0.5 * m + 0.5 * float(w) for m, w in zip(meaning, words, strict=True)]
