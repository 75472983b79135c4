"""Problems in the full-text index (soporte/search): one "problem" document each, always
internal (agents only), so that a ticket's words find the known errors like it."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone

from soporte.search.models import Document, Kind
from soporte.search.services import MAX_BODY, index_documents, remove_documents

from .models import Problem

KIND = Kind.PROBLEM


def _document(problem: Problem) -> Document:
    body = "\n\n".join(
        part for part in (problem.description, problem.root_cause, problem.workaround) if part
    )
    return Document(
        kind=KIND,
        object_id=problem.pk,
        ticket=None,
        internal=True,
        title=problem.title[:300],
        body=body[:MAX_BODY],
        updated_at=problem.updated_at or timezone.now(),
    )


def index_problem(problem_id: int) -> str:
    """Write the problem's document, or remove it; "indexed" or "removed"."""
    problem = Problem.objects.filter(pk=problem_id).first()
    if problem is None:
        remove_documents(KIND, [problem_id])
        return "removed"
    index_documents([_document(problem)])
    return "indexed"


def _all_documents() -> Iterator[Document]:
    for problem in Problem.objects.order_by("pk").iterator(chunk_size=500):
        yield _document(problem)


def reindex_problems() -> int:
    """Rewrite every problem's document and drop those of deleted problems."""
    existing = set(Problem.objects.values_list("pk", flat=True))
    indexed = set(Document.objects.filter(kind=KIND).values_list("object_id", flat=True))
    remove_documents(KIND, indexed - existing)
    return index_documents(_all_documents())
