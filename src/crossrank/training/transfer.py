"""The transfer set for distillation: queries of every style, with candidates mined from a passage pool.

A student learns relevance only for the kinds of queries it sees. Users type questions,
keywords, claims and headings, so the transfer set mixes labelled questions with
pseudo-queries cut from the pool's own passages (no labels needed, which is what makes
``crossrank adapt`` work on a user's documents): a sentence of a passage (claim-like),
its most distinctive terms (keyword-like), a short span, or its title (heading-like).
Candidates come from BM25 and a dense retriever over the whole pool, so a group holds the
hard near-misses a first stage really returns, not just the query's own article.

Example:
    ```python
    from crossrank.training.transfer import pseudo_queries, mine_candidates, build_groups_from_candidates

    pool = {"d1": "BM25 ranks documents by term frequency...", "d2": "..."}
    queries = pseudo_queries(pool, n=100, pool="docs")
    candidates = mine_candidates(pool, queries, depth=30)
    groups = build_groups_from_candidates(queries, pool, candidates, group_size=8)
    ```
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crossrank.training.groups import TrainingGroup
from crossrank.training.mining import bi_encoder_top_k, bm25_top_k

STYLES = ("sentence", "terms", "span", "title")
"""The pseudo-query styles :func:`pseudo_queries` cuts from passages."""

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]+")
# A short list on purpose: the terms style only needs to avoid picking glue words.
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have he her his in is it its of on or she that the their them "
    "there these they this to was were which who will with not but can also than then into about more "
    "most such other some may been would could should when where what how why do does did one two".split()
)


@dataclass(frozen=True)
class TransferQuery:
    """One query of the transfer set.

    Attributes:
        id: Unique id.
        text: The query text.
        style: ``question``, ``keywords``, ``claim``, ``sentence``, ``terms``, ``span``, ``title``...
        pool: The name of the passage pool its candidates come from.
        positives: Passage ids a human (or the pseudo-query's construction) marks relevant.
    """

    id: str
    text: str
    style: str
    pool: str
    positives: tuple[str, ...] = ()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if 6 <= len(s.split()) <= 40]


def _terms(text: str, document_frequency: Counter[str], documents: int, rng: random.Random) -> str:
    words = [w.lower() for w in _WORD.findall(text) if w.lower() not in _STOPWORDS and len(w) > 2]
    if not words:
        return ""
    counts = Counter(words)
    weight = {w: c * math.log(documents / (1 + document_frequency[w])) for w, c in counts.items()}
    best = sorted(weight, key=lambda w: (-weight[w], w))[: rng.randint(2, 4)]
    return " ".join(best)


def _span(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 8:
        return ""
    length = rng.randint(4, 8)
    start = rng.randrange(0, len(words) - length)
    return " ".join(words[start : start + length]).strip(".,;:()\"'")


def pseudo_queries(
    passages: Mapping[str, str],
    n: int,
    pool: str,
    seed: int = 0,
    styles: Sequence[str] = STYLES,
    titles: Mapping[str, str] | None = None,
) -> list[TransferQuery]:
    """Cut ``n`` pseudo-queries from ``passages``, cycling through ``styles``; each names its source as positive.

    ``title`` queries need ``titles`` (passage id -> title) and are skipped for passages without one.

    Example:
        ```python
        pseudo_queries({"d": "Qdrant stores vectors. It runs embedded or as a server."}, n=2, pool="docs")
        ```
    """
    unknown = [s for s in styles if s not in STYLES]
    if unknown:
        raise ValueError(f"unknown pseudo-query style(s) {unknown}; choose from {list(STYLES)}")
    rng = random.Random(seed)
    ids = sorted(passages)
    rng.shuffle(ids)
    frequency: Counter[str] = Counter()
    for text in passages.values():
        frequency.update({w.lower() for w in _WORD.findall(text)})
    queries: list[TransferQuery] = []
    for position, doc_id in enumerate(ids):
        if len(queries) >= n:
            break
        style = styles[position % len(styles)]
        text = passages[doc_id]
        if style == "sentence":
            options = _sentences(text)
            query = rng.choice(options) if options else ""
        elif style == "terms":
            query = _terms(text, frequency, len(passages), rng)
        elif style == "span":
            query = _span(text, rng)
        else:
            query = (titles or {}).get(doc_id, "").strip()
        if query:
            queries.append(TransferQuery(f"{pool}-{style}-{doc_id}", query, style, pool, (doc_id,)))
    return queries


def mine_candidates(
    pool: Mapping[str, str],
    queries: Sequence[TransferQuery],
    depth: int = 30,
    bi_encoder: str | None = None,
    embed: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> dict[str, list[str]]:
    """BM25's top ``depth`` interleaved with a dense retriever's, per query, best first.

    The dense side is ``embed`` (texts -> unit vectors, e.g. :meth:`TeacherCache.embed`, so
    the teacher's pool encoding serves mining too) or the ``bi_encoder`` model; neither: BM25 only.

    Example:
        ```python
        mine_candidates({"a": "red apple", "b": "green pear"}, [TransferQuery("q", "apple", "terms", "p")], 1)
        ```
    """
    texts = {q.id: q.text for q in queries}
    ranked = bm25_top_k(dict(pool), texts, depth)
    dense: dict[str, list[str]] = {}
    if embed is not None:
        doc_ids, query_ids = list(pool), list(texts)
        sims = embed([texts[q] for q in query_ids]) @ embed([pool[d] for d in doc_ids]).T
        top = np.argsort(-sims, axis=1)[:, : min(depth, len(doc_ids))]
        dense = {q: [doc_ids[int(i)] for i in row] for q, row in zip(query_ids, top)}
    elif bi_encoder:
        dense = bi_encoder_top_k(dict(pool), texts, depth, bi_encoder)
    if dense:
        for qid, lexical in ranked.items():
            ranked[qid] = list(dict.fromkeys(d for pair in zip(lexical, dense[qid]) for d in pair))
    return ranked


def build_groups_from_candidates(
    queries: Sequence[TransferQuery],
    pool: Mapping[str, str],
    candidates: Mapping[str, Sequence[str]],
    group_size: int = 8,
    seed: int = 0,
) -> list[TrainingGroup]:
    """One group per query: a positive (if known) first, then hard candidates, some deeper ones and one random passage.

    Labels are 1 for the query's positives and 0 otherwise; distillation replaces them
    with teacher scores and keeps them only as an auxiliary signal.

    Example:
        ```python
        groups = build_groups_from_candidates(queries, pool, candidates, group_size=8)
        ```
    """
    if group_size < 2:
        raise ValueError(f"group_size must be at least 2, got {group_size}")
    rng = random.Random(seed)
    ids = sorted(pool)
    groups: list[TrainingGroup] = []
    for query in queries:
        positives = [p for p in query.positives if p in pool][:1]
        ranked = [d for d in candidates.get(query.id, []) if d not in query.positives]
        room = group_size - len(positives) - 1
        hardest = ranked[: (room + 1) // 2]
        deeper = ranked[len(hardest) :]
        chosen = hardest + rng.sample(deeper, min(len(deeper), room - len(hardest)))
        taken = set(chosen) | set(query.positives)
        easy = [d for d in rng.sample(ids, min(len(ids), 5)) if d not in taken][:1]
        doc_ids = positives + chosen + easy
        if len(doc_ids) < 2:
            continue
        labels = [1.0] * len(positives) + [0.0] * (len(doc_ids) - len(positives))
        groups.append(TrainingGroup(query.text, [pool[d] for d in doc_ids], labels))
    return groups
