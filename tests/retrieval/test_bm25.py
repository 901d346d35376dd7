"""The one BM25 (``crossrank.retrieval.bm25``): ranking, the shared tokeniser, and its edges."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("bm25s", reason="BM25 needs the rag, eval or train extra (bm25s, PyStemmer)")

from crossrank.retrieval import BM25Index, terms, tokenize

TEXTS = [
    "Giant pandas eat almost nothing but bamboo.",
    "Dogs bark at the postman.",
    "Red pandas also eat bamboo, and some fruit.",
    "",
]


def test_search_ranks_by_shared_terms_and_leaves_out_texts_sharing_none() -> None:
    index = BM25Index(TEXTS)
    hits = index.search("What do pandas eat?", k=4)
    assert sorted(position for position, _ in hits) == [0, 2]  # the dogs and the empty text share nothing
    assert all(isinstance(score, float) and score > 0 for _, score in hits)
    assert hits[0][1] >= hits[1][1]
    assert index.search("the and of", k=3) == []  # stop words only: nothing to match


def test_include_zero_fills_k_with_texts_that_share_no_term() -> None:
    index = BM25Index(TEXTS)
    hits = index.search("pandas", k=4, include_zero=True)
    assert len(hits) == 4 and sorted(p for p, _ in hits) == [0, 1, 2, 3]
    assert [s for _, s in hits][2:] == [0.0, 0.0]


def test_search_many_matches_search_one_query_at_a_time() -> None:
    index = BM25Index(TEXTS)
    queries = ["bamboo", "postman barking", "the"]
    assert index.search_many(queries, k=2) == [index.search(q, k=2) for q in queries]
    assert index.search_many([], k=2) == []


def test_scores_cover_every_text_in_order() -> None:
    index = BM25Index(TEXTS)
    scores = index.scores("dogs")
    assert len(scores) == len(TEXTS) and scores[1] > 0 and scores[0] == scores[2] == scores[3] == 0.0
    assert index.search("dogs", k=1)[0] == (1, pytest.approx(scores[1]))


def test_an_empty_index_finds_nothing_and_a_bad_k_is_refused() -> None:
    empty = BM25Index([])
    assert len(empty) == 0 and empty.search("pandas", k=3) == [] and empty.scores("pandas") == []
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        BM25Index(TEXTS).search("pandas", k=0)


def test_one_tokeniser_configuration_for_terms_and_the_index() -> None:
    assert terms("The running dogs") == ["run", "dog"]
    tokens = tokenize(["running dogs", "the dog"])
    assert set(tokens.vocab) == {"run", "dog"}


def test_concurrent_searches_get_the_answers_of_a_lone_search() -> None:
    index = BM25Index(TEXTS * 50)
    expected = {q: index.search(q, k=5) for q in ("pandas", "dogs", "fruit")}
    results: list[bool] = []

    def ask(query: str) -> None:
        for _ in range(20):
            results.append(index.search(query, k=5) == expected[query])

    threads = [threading.Thread(target=ask, args=(q,)) for q in expected for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 120 and all(results)
