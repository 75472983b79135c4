"""A flow's decision tree as plain data, and the rules it must keep. Pure: no Django
models, no database (the services add the checks that need one, e.g. KB articles).

The definition, as YAML or JSON::

    slug: printer-not-printing
    title: Printer does not print
    language: en            # en | es
    public: true            # requesters may run it on the portal
    description: ...
    nodes:
      - id: power
        start: true         # exactly one node starts the flow
        question: Is the printer switched on?
        answers:
          - answer: "Yes"
            next: paper
          - answer: "No"
            next: switch-on
      - id: switch-on
        solution: Switch it on and wait for the green light.
        article: 12         # optional: a published KB article that explains it
      - id: call-l2
        escalate: L2        # a leaf that hands the problem to a tier
        text: The printer needs a technician.

The rules: ids are unique; every `next` names a node; every node is reachable from the
one start; there are no cycles; questions have at least one answer; leaves are solutions
or escalations. Every error names its node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_NODES = 300
MAX_ANSWERS = 30
MAX_TEXT = 5000
MAX_LABEL = 200
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
LANGUAGES = ("en", "es")
TIERS = ("L1", "L2", "L3")
KINDS = ("question", "solution", "escalate")
# Slugs that would collide with the API's own paths (/flows/import, /flows/runs/...).
RESERVED_SLUGS = frozenset({"import", "runs", "new", "stats", "start", "tickets"})

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class FlowInvalid(ValueError):
    """The definition breaks one or more rules; `errors` lists each, naming the node."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Answer:
    label: str
    next: str


@dataclass
class Node:
    id: str
    kind: str  # question | solution | escalate
    text: str = ""
    start: bool = False
    answers: list[Answer] = field(default_factory=list)
    article: int | None = None
    tier: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        if self.start:
            data["start"] = True
        if self.kind == "question":
            data["question"] = self.text
            data["answers"] = [{"answer": a.label, "next": a.next} for a in self.answers]
        elif self.kind == "solution":
            data["solution"] = self.text
            if self.article is not None:
                data["article"] = self.article
        else:
            data["escalate"] = self.tier
            if self.text:
                data["text"] = self.text
        return data


@dataclass
class Definition:
    slug: str
    title: str
    language: str = "en"
    public: bool = False
    description: str = ""
    nodes: list[Node] = field(default_factory=list)

    def node(self, node_id: str) -> Node | None:
        for node in self.nodes:
            if node.id == node_id:
                return node
        return None

    @property
    def start(self) -> Node:
        return next(node for node in self.nodes if node.start)

    def articles(self) -> set[int]:
        return {node.article for node in self.nodes if node.article is not None}

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "language": self.language,
            "public": self.public,
            "description": self.description,
            "nodes": [node.as_dict() for node in self.nodes],
        }


# -- graph checks ----------------------------------------------------------------------


def unreachable(edges: Mapping[str, Iterable[str]], start: str) -> set[str]:
    """Nodes no path from `start` reaches (edges to unknown nodes are ignored)."""
    seen = {start}
    todo = [start]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target in edges and target not in seen:
                seen.add(target)
                todo.append(target)
    return set(edges) - seen


def cycle_nodes(edges: Mapping[str, Iterable[str]]) -> list[str]:
    """One node of each cycle found (iterative depth-first search, so a deep tree cannot
    exhaust the stack). Empty when the graph is acyclic."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(edges, white)
    found: list[str] = []
    for root in edges:
        if colour[root] != white:
            continue
        colour[root] = grey
        stack = [(root, iter(edges[root]))]
        while stack:
            node, targets = stack[-1]
            for target in targets:
                if target not in colour:
                    continue
                if colour[target] == grey:
                    if target not in found:
                        found.append(target)
                elif colour[target] == white:
                    colour[target] = grey
                    stack.append((target, iter(edges[target])))
                    break
            else:
                colour[node] = black
                stack.pop()
    return found


# -- parsing and validating ------------------------------------------------------------


def _text(value: Any, where: str, name: str, errors: list[str], *, limit: int, required=True):
    if value is None or value == "":
        if required:
            errors.append(f"{where}: {name} is required.")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(f"{where}: {name} must be text.")
        return ""
    # Browsers send a textarea's lines with CRLF: the same text must give the same flow.
    value = str(value).replace("\r\n", "\n").strip()
    if "\x00" in value:
        errors.append(f"{where}: {name} must not contain NUL characters.")
        return ""
    if len(value) > limit:
        errors.append(f"{where}: {name} is longer than {limit} characters.")
        return ""
    if required and not value:
        errors.append(f"{where}: {name} is required.")
    return value


def _node(raw: Any, index: int, errors: list[str]) -> Node | None:
    if not isinstance(raw, Mapping):
        errors.append(f"Node #{index + 1}: must be a mapping with an id.")
        return None
    node_id = raw.get("id")
    if isinstance(node_id, int) and not isinstance(node_id, bool):
        node_id = str(node_id)
    if not isinstance(node_id, str) or not _ID.match(node_id):
        errors.append(
            f"Node #{index + 1}: id must be 1-80 letters, digits, '-', '_' or '.' "
            f"(got {str(node_id)[:40]!r})."
        )
        return None
    where = f"Node '{node_id}'"
    known = {"id", "start", "question", "answers", "solution", "article", "escalate", "text"}
    extra = sorted(str(key) for key in raw if key not in known)
    if extra:
        errors.append(f"{where}: unknown keys {', '.join(extra)}.")
    kinds = [kind for kind in ("question", "solution", "escalate") if kind in raw]
    if "article" in raw and "solution" not in kinds:
        kinds.append("solution")
    if len(kinds) != 1:
        errors.append(f"{where}: must be exactly one of a question, a solution or an escalation.")
        return None
    kind = kinds[0]
    start = raw.get("start", False)
    if not isinstance(start, bool):
        errors.append(f"{where}: start must be true or false.")
        start = False
    node = Node(id=node_id, kind=kind, start=start)
    if kind == "question":
        node.text = _text(raw.get("question"), where, "the question", errors, limit=MAX_TEXT)
        answers = raw.get("answers")
        if answers is None or answers == []:
            errors.append(f"{where}: a question needs at least one answer.")
        elif not isinstance(answers, list):
            errors.append(f"{where}: answers must be a list.")
        elif len(answers) > MAX_ANSWERS:
            errors.append(f"{where}: more than {MAX_ANSWERS} answers.")
        else:
            for number, answer in enumerate(answers, 1):
                if not isinstance(answer, Mapping) or set(answer) - {"answer", "next"}:
                    errors.append(f"{where}: answer {number} must have only 'answer' and 'next'.")
                    continue
                label = _text(
                    answer.get("answer"), where, f"answer {number}", errors, limit=MAX_LABEL
                )
                target = answer.get("next")
                if isinstance(target, int) and not isinstance(target, bool):
                    target = str(target)
                if not isinstance(target, str) or not target:
                    errors.append(f"{where}: answer {number} needs 'next', the node it leads to.")
                    continue
                node.answers.append(Answer(label=label, next=target))
    elif kind == "solution":
        node.text = _text(
            raw.get("solution"), where, "the solution", errors, limit=MAX_TEXT,
            required="article" not in raw,
        )  # fmt: skip
        article = raw.get("article")
        if article is not None:
            if isinstance(article, bool) or not isinstance(article, int) or not 0 < article < 2**31:
                errors.append(f"{where}: article must be a knowledge-base article id.")
            else:
                node.article = article
    else:
        tier = raw.get("escalate")
        if tier not in TIERS:
            errors.append(f"{where}: escalate must name a tier ({', '.join(TIERS)}).")
        else:
            node.tier = tier
        node.text = _text(raw.get("text"), where, "text", errors, limit=MAX_TEXT, required=False)
    if kind != "question" and "answers" in raw:
        errors.append(f"{where}: only questions have answers; a {kind} ends the flow.")
    return node


def parse(data: Any) -> Definition:
    """Check a loaded definition (from YAML, JSON or the editor) and return it; raise
    FlowInvalid listing every problem found, each naming its node."""
    if not isinstance(data, Mapping):
        raise FlowInvalid(["The flow must be a mapping with slug, title and nodes."])
    errors: list[str] = []
    extra = sorted(
        str(key)
        for key in data
        if key not in {"slug", "title", "language", "public", "description", "nodes"}
    )
    if extra:
        errors.append(f"Flow: unknown keys {', '.join(extra)}.")
    slug = data.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug) or slug in RESERVED_SLUGS:
        errors.append(
            "Flow: slug must be 1-80 lowercase letters, digits and '-' "
            f"(and not {', '.join(sorted(RESERVED_SLUGS))})."
        )
        slug = ""
    title = _text(data.get("title"), "Flow", "title", errors, limit=MAX_TITLE)
    language = data.get("language", "en")
    if language not in LANGUAGES:
        errors.append(f"Flow: language must be one of {', '.join(LANGUAGES)}.")
        language = "en"
    public = data.get("public", False)
    if not isinstance(public, bool):
        errors.append("Flow: public must be true or false.")
        public = False
    description = _text(
        data.get("description"), "Flow", "description", errors, limit=MAX_DESCRIPTION,
        required=False,
    )  # fmt: skip
    raw_nodes = data.get("nodes")
    nodes: list[Node] = []
    if not isinstance(raw_nodes, list) or not raw_nodes:
        errors.append("Flow: nodes must be a non-empty list.")
    elif len(raw_nodes) > MAX_NODES:
        errors.append(f"Flow: more than {MAX_NODES} nodes.")
    else:
        for index, raw in enumerate(raw_nodes):
            node = _node(raw, index, errors)
            if node is not None:
                nodes.append(node)
    definition = Definition(slug, title, language, public, description, nodes)
    errors += graph_errors(definition.nodes)
    if errors:
        raise FlowInvalid(errors)
    return definition


def graph_errors(nodes: list[Node]) -> list[str]:
    """The rules between nodes: unique ids, known targets, one start, all reachable,
    no cycles."""
    errors: list[str] = []
    ids: dict[str, Node] = {}
    for node in nodes:
        if node.id in ids:
            errors.append(f"Node '{node.id}': the id is used twice.")
        ids[node.id] = node
    for node in nodes:
        for answer in node.answers:
            if answer.next not in ids:
                errors.append(
                    f"Node '{node.id}': answer '{answer.label}' leads to '{answer.next}', "
                    "which does not exist."
                )
            elif answer.next == node.id:
                errors.append(f"Node '{node.id}': answer '{answer.label}' leads back to itself.")
    starts = [node.id for node in nodes if node.start]
    if not nodes:
        return errors
    if not starts:
        errors.append("Flow: no node has start: true; exactly one must.")
        return errors
    if len(starts) > 1:
        errors.append(f"Flow: exactly one node may start, not {', '.join(starts)}.")
        return errors
    edges = {node.id: [a.next for a in node.answers] for node in ids.values()}
    for node_id in sorted(unreachable(edges, starts[0])):
        errors.append(f"Node '{node_id}': unreachable from the start node '{starts[0]}'.")
    for node_id in cycle_nodes(edges):
        if node_id in edges[node_id]:
            continue  # already reported as leading back to itself
        errors.append(f"Node '{node_id}': part of a cycle; answers must not lead back.")
    return errors
