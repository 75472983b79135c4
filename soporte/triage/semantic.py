"""Ranking by meaning, with the optional extra `soporte[semantic]` (the packaged
all-MiniLM-L6-v2 sentence embeddings, loaded from the installed package, offline).
Without it, or when it fails to load, ranking uses hashed word similarity (ml.vectors),
which needs no model at all. Meaning and words are mixed by search.semantic.blend, the
rule article suggestions use too.

Tickets' vectors are stored by the triage job (services.store_vectors); a lookup reads
them and embeds at most the one ticket it starts from."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import connection

from soporte.search import semantic as search_semantic

from . import candidates, ml
from .models import TicketVector

# The model lives in soporte.search.semantic, shared with the article suggestions.
available = search_semantic.available
embed = search_semantic.embed


def rank(text: str, candidates: Sequence[str], words: Sequence[float] | None = None) -> list[float]:
    """A score per candidate text (higher is closer), every candidate embedded now: for
    a few texts with no stored vector. search.semantic.blend of word similarity and
    meaning with the extra; word similarity alone without.
    `words`: the word similarities, when the caller computed them already."""
    if not candidates:
        return []
    if words is None:
        words = [float(s) for s in ml.similarities(ml.vectors([text]), ml.vectors(candidates))]
    meaning = search_semantic.closeness(text, candidates)
    if meaning is None:
        return [float(s) for s in words]
    return search_semantic.blend(words, meaning)


def meanings(ticket_id: int, text: str, candidate_ids: Sequence[int]) -> list[float | None] | None:
    """The cosine of each candidate's stored vector with the ticket's, None for a
    candidate with none stored yet; None for all without the extra. The ticket's own
    vector is embedded now only when none is stored for this `text`. One query reads
    every vector."""
    if not search_semantic.available():
        return None
    ids_sql, value = candidates.id_list([ticket_id, *candidate_ids])
    table = connection.ops.quote_name(TicketVector._meta.db_table)
    with connection.cursor() as cursor:  # raw rows: the ORM's handling cost more than the query
        cursor.execute(
            f"SELECT ticket_id, digest, vector FROM {table}"  # noqa: S608
            f" WHERE model = %s AND ticket_id IN ({ids_sql})",
            [search_semantic.MODEL, value],
        )
        rows = {pk: (digest, vector) for pk, digest, vector in cursor.fetchall()}
    own = rows.get(ticket_id)
    if own is not None and own[0] == search_semantic.digest(text):
        query = search_semantic.unpack(own[1])
    else:  # a ticket not triaged yet, or edited since
        query = search_semantic.embed([text])[0]
    known = [i for i, pk in enumerate(candidate_ids) if pk in rows and pk != ticket_id]
    out: list[float | None] = [None] * len(candidate_ids)
    if known:
        matrix = np.frombuffer(
            b"".join(bytes(rows[candidate_ids[i]][1]) for i in known), dtype=np.float16
        ).reshape(len(known), -1)
        for i, value in zip(known, matrix.astype(np.float32) @ query, strict=True):
            out[i] = float(value)
    return out


def rank_stored(
    ticket_id: int, text: str, candidate_ids: Sequence[int], words: Sequence[float]
) -> list[float]:
    """A score per candidate ticket (higher is closer): search.semantic.blend of the
    word similarities and the stored vectors' meaning (a candidate with no vector ranks
    by words); the word similarities alone when there is no meaning to be had."""
    meaning = meanings(ticket_id, text, candidate_ids)
    if meaning is None or all(m is None for m in meaning):
        return [float(w) for w in words]
    return search_semantic.blend(words, meaning)
