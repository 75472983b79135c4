"""The learning part of triage, with no Django: per-language text classifiers (TF-IDF and
a multinomial logistic regression, whose probabilities are its confidence), text
similarity for duplicates and storms, and the storm detector itself.

Everything here takes plain values, so the evaluation (synthetic.py) and the service
layer run exactly the same code.
"""

from __future__ import annotations

import io
import math
import re
import threading
import unicodedata
import warnings
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import normalize

LANGUAGES = ("en", "es")
MAX_TEXT = 4000
MIN_SAMPLES = 10  # per language and field, below which nothing is learned
HOLDOUT = 0.2  # the most recent share of history kept out to measure the model
FEW_TEXTS = 4  # texts predicted one by one, with no sparse matrix (see tfidf_one)

STOP_WORDS = frozenset(
    """a an and are as at be but by can could do does for from has have i if in is it its
    me my no not of on or our please so that the their there this to us was we were what
    when with would you your hi hello thanks thank regards
    al como con de del el en es esta este gracias hay hola la las lo los me mi mis no nos
    para pero por que se si su sus un una y ya saludos favor""".split()
)
_ES_HINTS = frozenset(
    "el la los las que por para con una esta hola gracias favor no funciona".split()
)
_EN_HINTS = frozenset("the is and to my with please hello thanks not working does".split())
_WORD = re.compile(r"\w+", re.UNICODE)


def ticket_text(subject: str, body: str) -> str:
    return f"{subject}\n{body}"[:MAX_TEXT]


def guess_language(text: str, default: str = "en") -> str:
    """English or Spanish by their commonest words (the requester's language is used
    first; this decides when it is neither)."""
    words = _WORD.findall(text.lower())
    es = sum(word in _ES_HINTS for word in words)
    en = sum(word in _EN_HINTS for word in words)
    if es == en:
        return default
    return "es" if es > en else "en"


def language_of(preferred: str, text: str) -> str:
    code = (preferred or "").split("-")[0].lower()
    return code if code in LANGUAGES else guess_language(text)


# -- similarity (stateless: no training needed) ------------------------------------------

HASHED_FEATURES = 2**18
# Each distinct term hashed once with its count: the sums (of whole counts) are exactly
# those of HashingVectorizer(n_features=HASHED_FEATURES, ngram_range=(1, 2),
# alternate_sign=False, norm="l2", strip_accents="unicode", stop_words=STOP_WORDS), whose
# analyzer and per-occurrence hashing were most of triage's vectorising.
_hasher = FeatureHasher(n_features=HASHED_FEATURES, input_type="dict", alternate_sign=False)
# scikit-learn's token pattern r"(?u)\b\w\w+\b": a greedy run of two or more word
# characters can only start and end at a word boundary, so the words are the same.
_TOKEN = re.compile(r"\w\w+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def fold(text: str) -> str:
    """Lower case without accents, as scikit-learn's strip_accents="unicode" reads it
    (NFKD, then every combining mark dropped): the few distinct marks removed with
    str.replace instead of a test of every character."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    for mark in [c for c in set(_NON_ASCII.findall(text)) if unicodedata.combining(c)]:
        text = text.replace(mark, "")
    return text


def terms(text: str) -> Counter[str]:
    """The folded words that are not stop words and each pair of neighbours among them,
    counted: what vectors() hashes."""
    words = [word for word in _TOKEN.findall(fold(text)) if word not in STOP_WORDS]
    counted = Counter(words)
    counted.update(map(" ".join, pairwise(words)))
    return counted


def vectors(texts: Sequence[str]) -> sparse.csr_matrix:
    """L2-normalised hashed word and word-pair counts: a dot product is the cosine."""
    return normalize(_hasher.transform(terms(text) for text in texts), norm="l2", copy=False)


def similarities(one: sparse.csr_matrix, many: sparse.csr_matrix) -> np.ndarray:
    if many.shape[0] == 0:
        return np.zeros(0)
    return np.asarray((many @ one.T).todense()).ravel()


def cross_similarities(some: sparse.csr_matrix, many: sparse.csr_matrix) -> np.ndarray:
    """Cosines of each of `some` (rows) with each of `many` (columns)."""
    return np.asarray((some @ many.T).todense())


# One row of vectors(): its column indices and their values.
Row = tuple[np.ndarray, np.ndarray]


def stack(rows: Sequence[Row]) -> sparse.csr_matrix:
    """The rows as one matrix, as sparse.vstack of their one-row matrices gives it (for
    a fraction of its cost)."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(indices) for indices, _values in rows], out=indptr[1:])
    if rows:
        indices = np.concatenate([indices for indices, _values in rows])
        values = np.concatenate([values for _indices, values in rows])
    else:
        indices, values = np.zeros(0, dtype=np.int32), np.zeros(0)
    return sparse.csr_matrix((values, indices, indptr), shape=(len(rows), HASHED_FEATURES))


def row_similarities(pairs: Sequence[tuple[Row, Sequence[Row]]]) -> list[np.ndarray]:
    """For each (row, others), the cosine of the row with each of the others: the values
    cross_similarities gives (the same products, added in the same order: by column),
    without the products of rows nobody compares."""
    dense = np.zeros(HASHED_FEATURES)
    out: list[np.ndarray] = []
    for (indices, values), others in pairs:
        if not others:
            out.append(np.zeros(0))
            continue
        dense[indices] = values
        products = dense[np.concatenate([row[0] for row in others])]
        products *= np.concatenate([row[1] for row in others])
        owners = np.repeat(np.arange(len(others)), [len(row[0]) for row in others])
        out.append(np.bincount(owners, weights=products, minlength=len(others)))
        dense[indices] = 0.0
    return out


class KeptVectors:
    """The hashed vectors (vectors()) of texts that come back often, by the caller's key
    (a ticket's id), reused while that key's text is the same: the newest tickets are
    the candidates of most similar-ticket lookups, and the storm window of one triage
    batch is mostly the tickets of the batch before. The least recently used beyond
    `size` are dropped."""

    def __init__(self, size: int):
        self.size = size
        # key -> (hash of the text, column indices, values): one row of vectors()
        self._rows: OrderedDict[int, tuple[int, np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()  # a process may serve lookups on several threads

    def rows(self, items: Sequence[tuple[int, str]]) -> list[Row]:
        """Each (key, text)'s row of vectors(): those kept reused, the others vectorised
        in one call, and kept."""
        return self._rows_with(items, [])[0]

    def similarities(self, text: str, others: Sequence[tuple[int, str]]) -> np.ndarray:
        """The cosine of `text`'s hashed vector with each of `others` ((key, text)
        pairs): the same values as similarities(vectors([text]), vectors(texts)). The
        text and the others not kept are vectorised in one call."""
        found, matrix = self._rows_with(others, [text])
        if not found or matrix is None:  # (the text was vectorised: never None here)
            return np.zeros(0)
        first = matrix.indptr[1]
        return row_similarities([((matrix.indices[:first], matrix.data[:first]), found)])[0]

    def _rows_with(
        self, items: Sequence[tuple[int, str]], texts: Sequence[str]
    ) -> tuple[list[Row], sparse.csr_matrix | None]:
        """rows(items), and vectors(texts) (None without texts) from the same call."""
        with self._lock:
            kept = [self._rows.get(key) for key, _text in items]
        hashes = [hash(text) for _key, text in items]
        missing = [i for i, row in enumerate(kept) if row is None or row[0] != hashes[i]]
        matrix = None
        if texts or missing:
            matrix = vectors([*texts, *(items[i][1] for i in missing)])
            indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
            for j, i in enumerate(missing, start=len(texts)):
                start, end = indptr[j], indptr[j + 1]
                kept[i] = (hashes[i], indices[start:end].copy(), data[start:end].copy())
        found = [row for row in kept if row is not None]  # every one, now
        with self._lock:
            for (key, _text), row in zip(items, found, strict=True):
                self._rows[key] = row
                self._rows.move_to_end(key)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
        return [(row[1], row[2]) for row in found], matrix


# -- classification ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    language: str
    text: str
    labels: dict[str, str]  # field -> label (absent when unknown)
    weights: dict[str, float] = field(default_factory=dict)  # field -> weight, default 1
    key: int = 0  # the caller's id for it (a ticket's)


@dataclass(frozen=True)
class Prediction:
    value: str
    confidence: float


class _Constant:
    """A field with one label in the history: always that label."""

    def __init__(self, label: str):
        self.classes_ = np.array([label])

    def predict_proba(self, matrix) -> np.ndarray:
        return np.ones((matrix.shape[0], 1))


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        strip_accents="unicode",
        lowercase=True,
        min_df=1,
        max_features=200_000,
        stop_words=sorted(STOP_WORDS),
        dtype=np.float32,
    )


def _fit(matrix, labels: list[str], weights: list[float], seed: int):
    if len(set(labels)) == 1:
        return _Constant(labels[0])
    # newton-cg reaches the same optimum as lbfgs on sparse text, many times faster here.
    model = LogisticRegression(C=10.0, solver="newton-cg", max_iter=100, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes on tiny histories
        model.fit(matrix, labels, sample_weight=np.asarray(weights))
    return model


def probabilities_of(classifier, matrix) -> np.ndarray:
    """predict_proba without scikit-learn's per-call checks (a tenth of the time for one
    ticket): the softmax of the linear scores, or the sigmoid for two labels."""
    if isinstance(classifier, _Constant):
        return classifier.predict_proba(matrix)
    scores = np.asarray(matrix @ classifier.coef_.T) + classifier.intercept_
    if scores.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.column_stack([1.0 - positive, positive])
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


def tfidf(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> sparse.csr_matrix:
    """vectorizer.transform(texts) without scikit-learn's per-call input checks (half
    the time for one ticket): counts, then the sublinear term frequency, the idf
    weights and the l2 norm, as TfidfTransformer.transform applies them."""
    matrix = sparse.csr_matrix(CountVectorizer.transform(vectorizer, list(texts)), copy=True)
    matrix = matrix.astype(vectorizer.dtype, copy=False)
    if vectorizer.sublinear_tf:
        np.log(matrix.data, matrix.data)
        matrix.data += 1.0
    matrix.data *= vectorizer.idf_[matrix.indices]
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    matrix.data /= np.repeat(norms, np.diff(matrix.indptr)).astype(matrix.dtype, copy=False)
    return matrix


class _Reader(NamedTuple):
    analyze: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray


# A fitted vectorizer's analyzer, built once: scikit-learn builds it at every transform.
_readers: weakref.WeakKeyDictionary[TfidfVectorizer, _Reader] = weakref.WeakKeyDictionary()


def _reader(vectorizer: TfidfVectorizer) -> _Reader:
    found = _readers.get(vectorizer)
    if found is None:
        found = _Reader(vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_)
        _readers[vectorizer] = found
    return found


def tfidf_one(vectorizer: TfidfVectorizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    """One text's row of tfidf(vectorizer, [text]) as its columns and their weights,
    with no sparse matrix: building one costs several times the arithmetic for a
    single ticket."""
    reader = _reader(vectorizer)
    vocabulary = reader.vocabulary
    counts: dict[int, int] = {}
    for term in reader.analyze(text):
        column = vocabulary.get(term)
        if column is not None:
            counts[column] = counts.get(column, 0) + 1
    columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
    weights = np.fromiter(counts.values(), dtype=vectorizer.dtype, count=len(counts))
    if vectorizer.sublinear_tf:
        np.log(weights, out=weights)
        weights += 1.0
    weights *= reader.idf[columns]
    norm = np.sqrt(weights @ weights)
    if norm:
        weights /= norm
    return columns, weights


def best_of(classifier, columns: np.ndarray, weights: np.ndarray) -> Prediction:
    """The likeliest label of one text given as tfidf_one's columns and weights, and its
    probability: the same arithmetic as probabilities_of on one row."""
    if isinstance(classifier, _Constant):
        return Prediction(str(classifier.classes_[0]), 1.0)
    scores = classifier.coef_[:, columns] @ weights + classifier.intercept_
    if scores.shape[0] == 1:
        score = float(scores[0])  # the sigmoid, without overflow either side
        tail = math.exp(-abs(score))
        positive = 1.0 / (1.0 + tail) if score >= 0 else tail / (1.0 + tail)
        column = int(positive > 0.5)
        return Prediction(str(classifier.classes_[column]), positive if column else 1.0 - positive)
    scores = np.exp(scores - scores.max())
    column = int(scores.argmax())
    return Prediction(str(classifier.classes_[column]), float(scores[column] / scores.sum()))


@dataclass
class LanguageModel:
    vectorizer: TfidfVectorizer
    fields: dict[str, Any]  # field -> fitted classifier


@dataclass
class Bundle:
    """Every language's vectorizer and per-field classifiers; what a TriageModel stores."""

    languages: dict[str, LanguageModel]

    def predict(self, language: str, texts: Sequence[str]) -> list[dict[str, Prediction]]:
        """For each text, the best label and its probability per field the model knows.
        A language without a model of its own uses the biggest one."""
        model = self.languages.get(language) or self._fallback()
        if model is None or not texts:
            return [{} for _ in texts]
        if len(texts) <= FEW_TEXTS:  # the triage job's usual call: one new ticket
            alone = []
            for text in texts:
                columns, weights = tfidf_one(model.vectorizer, text)
                alone.append(
                    {name: best_of(c, columns, weights) for name, c in model.fields.items()}
                )
            return alone
        matrix = tfidf(model.vectorizer, texts)
        out: list[dict[str, Prediction]] = [{} for _ in texts]
        for name, classifier in model.fields.items():
            probabilities = probabilities_of(classifier, matrix)
            best = probabilities.argmax(axis=1)
            for row, column in enumerate(best):
                out[row][name] = Prediction(
                    str(classifier.classes_[column]), float(probabilities[row, column])
                )
        return out

    def rarity(self, language: str, words: Sequence[str]) -> list[float] | None:
        """Each word's inverse document frequency in the history (higher: rarer); a word
        never seen counts as the rarest, a stop word as the commonest. None without a
        model. Words are folded (lower case, no accents), as the vectorizer reads them."""
        model = self.languages.get(language) or self._fallback()
        if model is None:
            return None
        vocabulary, idf = model.vectorizer.vocabulary_, model.vectorizer.idf_
        unseen = float(idf.max()) if len(idf) else 1.0
        return [
            0.0 if word in STOP_WORDS else float(idf[vocabulary[word]]) if word in vocabulary
            else unseen
            for word in words
        ]  # fmt: skip

    def _fallback(self) -> LanguageModel | None:
        if not self.languages:
            return None
        return max(self.languages.values(), key=lambda m: len(m.vectorizer.vocabulary_))

    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self, buffer, compress=3)
        return buffer.getvalue()

    @staticmethod
    def loads(data: bytes | memoryview) -> Bundle:
        # Only ever called on bytes this site wrote to its own database (TriageModel).
        return joblib.load(io.BytesIO(bytes(data)))


def _split(count: int) -> int:
    """How many of `count` time-ordered samples are for training (the rest is held out)."""
    return count - max(1, math.ceil(count * HOLDOUT)) if count >= MIN_SAMPLES else count


def _scores(truth: list[str], guessed: list[str]) -> dict[str, float]:
    return {
        "accuracy": round(float(accuracy_score(truth, guessed)), 4),
        "macro_f1": round(float(f1_score(truth, guessed, average="macro", zero_division=0)), 4),
    }


def train(
    samples: Iterable[Sample], fields: Sequence[str], *, seed: int = 0, evaluate: bool = True
) -> tuple[Bundle, dict[str, Any]]:
    """Learn one vectorizer per language and one classifier per field.

    1. Samples come oldest first; the newest HOLDOUT share of each language is held out,
       the model is fitted on the rest and measured on it (accuracy, macro-F1).
    2. The model kept is then fitted on all the samples.
    Returns the bundle and the metrics: {language: {field: {accuracy, macro_f1, train,
    test}}}, plus "overall" (sample-weighted means per field).
    """
    by_language: dict[str, list[Sample]] = {}
    for sample in samples:
        by_language.setdefault(sample.language, []).append(sample)
    languages: dict[str, LanguageModel] = {}
    metrics: dict[str, Any] = {}
    for language, rows in by_language.items():
        if len(rows) < MIN_SAMPLES:
            continue
        metrics[language] = {}
        if evaluate:
            cut = _split(len(rows))
            head, tail = rows[:cut], rows[cut:]
            held = _fit_language(head, fields, seed)
            if held is not None and tail:
                for name, classifier in held.fields.items():
                    test = [r for r in tail if name in r.labels]
                    if not test:
                        continue
                    matrix = held.vectorizer.transform([r.text for r in test])
                    guessed = classifier.classes_[
                        probabilities_of(classifier, matrix).argmax(axis=1)
                    ]
                    metrics[language][name] = {
                        **_scores([r.labels[name] for r in test], [str(g) for g in guessed]),
                        "train": sum(name in r.labels for r in head),
                        "test": len(test),
                    }
        full = _fit_language(rows, fields, seed)
        if full is not None:
            languages[language] = full
    metrics["overall"] = _overall(metrics, fields)
    return Bundle(languages), metrics


def _fit_language(rows: list[Sample], fields: Sequence[str], seed: int) -> LanguageModel | None:
    vectorizer = _vectorizer()
    try:
        matrix = vectorizer.fit_transform([r.text for r in rows])
    except ValueError:  # nothing but stop words
        return None
    fitted = {}
    for name in fields:
        index = [i for i, r in enumerate(rows) if name in r.labels]
        if len(index) < MIN_SAMPLES:
            continue
        labels = [rows[i].labels[name] for i in index]
        weights = [rows[i].weights.get(name, 1.0) for i in index]
        fitted[name] = _fit(matrix[index], labels, weights, seed)
    return LanguageModel(vectorizer, fitted) if fitted else None


def _overall(metrics: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    overall = {}
    for name in fields:
        parts = [m[name] for m in metrics.values() if name in m]
        total = sum(p["test"] for p in parts)
        if not total:
            continue
        overall[name] = {
            "accuracy": round(sum(p["accuracy"] * p["test"] for p in parts) / total, 4),
            "macro_f1": round(sum(p["macro_f1"] * p["test"] for p in parts) / total, 4),
            "test": total,
        }
    return overall


# -- storms ------------------------------------------------------------------------------


@dataclass
class Arrival:
    """A ticket as the storm detector sees it."""

    id: int
    at: datetime
    text: str
    category: str = ""
    assets: frozenset[str] = frozenset()
    locations: frozenset[str] = frozenset()
    vector: Any = None


@dataclass(frozen=True)
class StormRules:
    size: int = 5
    minutes: int = 30
    similarity: float = 0.3
    by_category: bool = True


@dataclass(frozen=True)
class Storm:
    reason: str  # text, asset, location, category
    key: str
    members: tuple[int, ...]  # ticket ids, the arriving one last


def find_storm(
    new: Arrival,
    recent: Sequence[Arrival],
    rules: StormRules,
    scores: Mapping[int, float] | None = None,
) -> Storm | None:
    """The group the new ticket completes: at least `size` tickets (with it) within
    `minutes` that share an asset, a location, a category, or similar text. The first
    reason that reaches the size wins, strongest evidence first. `scores` (arrival id ->
    text similarity to the new one), when the caller computed them for many at once."""
    since = new.at - timedelta(minutes=rules.minutes)
    window = [a for a in recent if since <= a.at <= new.at and a.id != new.id]
    need = max(rules.size, 2) - 1
    for asset in sorted(new.assets):
        group = [a.id for a in window if asset in a.assets]
        if len(group) >= need:
            return Storm("asset", asset, (*group, new.id))
    for location in sorted(new.locations):
        group = [a.id for a in window if location in a.locations]
        if len(group) >= need:
            return Storm("location", location, (*group, new.id))
    if window:
        found = _text_scores(new, window, scores)
        group = [a.id for a, s in zip(window, found, strict=True) if s >= rules.similarity]
        if len(group) >= need:
            return Storm("text", "", (*group, new.id))
    if rules.by_category and new.category:
        group = [a.id for a in window if a.category == new.category]
        if len(group) >= need:
            return Storm("category", new.category, (*group, new.id))
    return None


def joins(
    new: Arrival,
    reason: str,
    key: str,
    members: Sequence[Arrival],
    rules: StormRules,
    scores: Mapping[int, float] | None = None,
) -> bool:
    """Whether a new ticket belongs to an incident found earlier (by the same evidence)."""
    if reason == "asset":
        return key in new.assets
    if reason == "location":
        return key in new.locations
    if reason == "category":
        return bool(new.category) and new.category == key
    if not members:
        return False
    return any(s >= rules.similarity for s in _text_scores(new, members, scores))


def _text_scores(
    new: Arrival, others: Sequence[Arrival], known: Mapping[int, float] | None
) -> list[float]:
    """The text similarity of each of `others` to `new`: looked up when known."""
    if known is not None:
        return [known[a.id] for a in others]
    vector = new.vector if new.vector is not None else vectors([new.text])
    matrix = sparse.vstack(
        [a.vector if a.vector is not None else vectors([a.text]) for a in others]
    )
    return [float(s) for s in similarities(vector, matrix)]


@dataclass
class Tracked:
    reason: str
    key: str
    members: list[Arrival]
    detected_at: datetime


def track(arrivals: Iterable[Arrival], rules: StormRules) -> list[Tracked]:
    """Replay a stream of tickets (oldest first) through the same rules the service
    applies one ticket at a time: join an incident still within its window, else start
    one when a storm is found among the tickets no incident holds yet."""
    incidents: list[Tracked] = []
    window: list[Arrival] = []
    taken: set[int] = set()
    span = timedelta(minutes=rules.minutes)
    for new in arrivals:
        if new.vector is None:
            new.vector = vectors([new.text])
        window = [a for a in window if a.at >= new.at - span]
        live = [i for i in incidents if i.members[-1].at >= new.at - span]
        joined = next(
            (i for i in live if joins(new, i.reason, i.key, i.members[-20:], rules)), None
        )
        if joined is not None:
            joined.members.append(new)
            taken.add(new.id)
        else:
            free = [a for a in window if a.id not in taken]
            storm = find_storm(new, free, rules)
            if storm is not None:
                members = [a for a in free if a.id in storm.members] + [new]
                incidents.append(Tracked(storm.reason, storm.key, members, new.at))
                taken.update(a.id for a in members)
        window.append(new)
    return incidents
