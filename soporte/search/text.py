"""Pure text handling for search: words, accent folding, stemming, query terms, snippets.

No Django here. Help desk text mixes Spanish and English, often in one message, and the
language of a message is not recorded; so every word is stemmed with both Snowball
stemmers and either stem matches. The query goes through the very same steps, which is
what makes "impresora" find "impresoras" and "contrasena" find "Contraseña".

The user's query is never passed on as full-text syntax: it is cut into words here, and
each backend builds its own MATCH expression or tsquery from those words.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

# Letters and digits; "_" and punctuation separate words, as in SQLite's unicode61.
_WORD = re.compile(r"[^\W_]+")
_MARKS = re.compile(r"[\u0300-\u036f]+")  # combining diacritics left by NFKD
_SPACE = re.compile(r"\s+")

# Longer "words" are hashes, base64 or pasted binary: never searched for, not indexed.
MAX_WORD = 60

# Words too common to search for, in either language (accents already folded). Some short
# words that mean something at a help desk ("down", "off", "out", "up") are kept.
ENGLISH_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing during each few for from
    further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself nor not now of on once only or other our
    ours ourselves own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until very was we
    were what when where which while who whom why will with would you your yours yourself
    yourselves s t don
    """.split()
)
SPANISH_STOPWORDS = frozenset(
    """
    al algo algunas algunos ante antes como con contra cual cuando de del desde donde
    durante e el ella ellas ellos en entre era eran eres es esa esas ese eso esos esta
    estaba estado estamos estan estar estas este esto estos estoy fue fueron ha habia han
    hasta hay he hemos la las le les lo los mas me mi mis mucho muchos muy nada ni no nos
    nosotros o os otra otras otro otros para pero poco por porque que quien quienes se ser
    si sin sobre son soy su sus tambien tanto te tiene tienen todo todos tu tus un una uno
    unos usted ustedes y ya yo
    """.split()
)
STOPWORDS = ENGLISH_STOPWORDS | SPANISH_STOPWORDS
_ONLY_ENGLISH = ENGLISH_STOPWORDS - SPANISH_STOPWORDS
_ONLY_SPANISH = SPANISH_STOPWORDS - ENGLISH_STOPWORDS

_local = threading.local()


def _stemmers() -> tuple[Stemmer.Stemmer, Stemmer.Stemmer]:
    # PyStemmer objects are not thread-safe: one pair per thread.
    pair = getattr(_local, "stemmers", None)
    if pair is None:
        pair = (Stemmer.Stemmer("english"), Stemmer.Stemmer("spanish"))
        _local.stemmers = pair
    return pair


def fold(text: str) -> str:
    """Lower case without accents: "CONTRASEÑA" -> "contrasena"."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))


def words(text: str) -> list[str]:
    """The folded words of a text, in order."""
    return _WORD.findall(fold(text))


# How much of a text the language guess reads, and how clear the answer must be.
GUESS_CHARS = 1000
GUESS_LEAST = 3


def guess_language(text: str) -> str:
    """English ("en") or Spanish ("es") when the common words clearly say which (at
    least GUESS_LEAST of them, twice as many as the other language's), else "". Only
    these two: they are the languages the interface speaks."""
    english = spanish = 0
    for word in words(text[:GUESS_CHARS]):
        english += word in _ONLY_ENGLISH
        spanish += word in _ONLY_SPANISH
    if english >= GUESS_LEAST and english >= 2 * spanish:
        return "en"
    if spanish >= GUESS_LEAST and spanish >= 2 * english:
        return "es"
    return ""


@lru_cache(maxsize=200_000)
def stems(word: str) -> tuple[str, ...]:
    """The English and the Spanish stem of one folded word (one entry when they agree).
    Numbers and codes are kept as they are."""
    if len(word) < 3 or not word.isalpha():
        return (word,)
    english, spanish = _stemmers()
    first, second = english.stemWord(word), spanish.stemWord(word)
    return (first,) if first == second else (first, second)


def _indexable(word: str) -> bool:
    return len(word) <= MAX_WORD and word not in STOPWORDS


class _IndexedWords(dict[str, str]):
    """word -> what index_text writes for it: its stems, space-separated, or "" for a
    stopword or an overlong word. One dict lookup per word of a reindex (the hot loop);
    bounded, past the bound words are worked out again each time."""

    def __missing__(self, word: str) -> str:
        value = " ".join(stems(word)) if _indexable(word) else ""
        if len(self) < 200_000:
            self[word] = value
        return value


_indexed_words = _IndexedWords()


class _IndexedTokens(dict[str, str]):
    """Whitespace-separated token -> what index_text writes for it. Folding never joins
    nor splits words across whitespace (case folding and NFKD go character by character,
    and no whitespace character is part of a word or combines with its neighbours), so a
    text's entry is its tokens' entries joined: a split and one dict lookup per token,
    most of them seen before, instead of folding and cutting the whole text again.
    Bounded like _IndexedWords."""

    def __missing__(self, token: str) -> str:
        value = " ".join(filter(None, map(_indexed_words.__getitem__, words(token))))
        if len(self) < 200_000:
            self[token] = value
        return value


_indexed_tokens = _IndexedTokens()


def index_text(text: str) -> str:
    """What the SQLite index stores for a text: the stems of its words, space-separated,
    without stopwords. Searched with the stems of the query's words."""
    return " ".join(filter(None, map(_indexed_tokens.__getitem__, text.split())))


@dataclass(frozen=True)
class Query:
    """A search as words: every word must match, by either of its stems."""

    words: tuple[str, ...]  # folded, distinct, in the order typed; no stopwords
    terms: tuple[tuple[str, ...], ...]  # the stems of each word

    @property
    def stem_set(self) -> frozenset[str]:
        return frozenset(stem for term in self.terms for stem in term)

    def __bool__(self) -> bool:
        return bool(self.words)


def parse_query(text: str) -> Query:
    """The words to look for. Quotes, `*`, `-`, `:`, parentheses and operators such as
    NEAR or OR are plain text here: they separate words, or are words themselves."""
    seen: dict[str, None] = {}
    for word in words(text):
        if _indexable(word):
            seen.setdefault(word, None)
    found = tuple(seen)
    return Query(words=found, terms=tuple(stems(word) for word in found))


def fts5_match(query: Query) -> str:
    """An FTS5 MATCH expression from parsed words: each stem a quoted string, so nothing
    the user typed is read as syntax. ("a" OR "b") AND ("c")."""
    return " AND ".join(
        "(" + " OR ".join('"' + stem.replace('"', '""') + '"' for stem in term) + ")"
        for term in query.terms
    )


def snippet(text: str, query: Query, *, size: int = 30, scan: int = 50_000) -> str:
    """A short piece of `text` around the first words that match, as safe HTML: the text
    is escaped and each matching word wrapped in <mark>. Only the first `scan` characters
    are searched for a match; without one, the snippet is the start of the text."""
    text = _SPACE.sub(" ", text[:scan]).strip()
    if not text:
        return ""
    wanted = query.stem_set
    spans = [match.span() for match in _WORD.finditer(text)]
    hits = [
        index
        for index, (start, end) in enumerate(spans)
        if not wanted.isdisjoint(stems(fold(text[start:end])))
    ]
    first = max(0, hits[0] - 5) if hits else 0
    last = min(len(spans), first + size)
    if not spans:
        return html.escape(text[:200])
    marked = set(hits)
    out = ["…"] if first > 0 else []
    position = spans[first][0] if first else 0
    for index in range(first, last):
        start, end = spans[index]
        out.append(html.escape(text[position:start]))
        word = html.escape(text[start:end])
        out.append(f"<mark>{word}</mark>" if index in marked else word)
        position = end
    if last < len(spans):
        out.append(" …")
    else:
        out.append(html.escape(text[position:]))
    return "".join(out)
