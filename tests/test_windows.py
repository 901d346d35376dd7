"""Tests of crossrank.windows: encode_windows, aggregate_windows and EncodedWindows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from crossrank.windows import EncodedWindows, aggregate_windows, encode_windows

DOC = " ".join(f"w{i}" for i in range(60))  # 120 word-piece tokens


@pytest.fixture(scope="module")
def tok(base_model_dir: str) -> PreTrainedTokenizerBase:
    # The tiny model's tokenizer is this one, saved unchanged; base_model_dir needs no training or
    # pytest cache (tiny_model_dir fails under -p no:cacheprovider).
    return AutoTokenizer.from_pretrained(base_model_dir)


def ids(tok: PreTrainedTokenizerBase, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def segments(enc: EncodedWindows, w: int) -> tuple[list[int], list[int]]:
    """(query ids, document ids) of window ``w``, special tokens removed."""
    assert enc.token_type_ids is not None
    row, types = enc.input_ids[w], enc.token_type_ids[w]
    query = [t for t, s in zip(row, types) if s == 0][1:-1]  # [CLS] ... [SEP]
    return query, [t for t, s in zip(row, types) if s == 1][:-1]  # ... [SEP]


def test_no_pairs_give_no_windows(tok: PreTrainedTokenizerBase) -> None:
    assert encode_windows(tok, [], max_length=32, overlap=4) == EncodedWindows([], None, [], [])


def test_a_short_passage_gives_one_whole_window(tok: PreTrainedTokenizerBase) -> None:
    enc = encode_windows(tok, [("what is it", "a short passage")], max_length=32, overlap=4)
    assert enc.pair_of_window == [0]
    assert enc.truncated_queries == []
    assert enc.input_ids[0] == tok("what is it", "a short passage")["input_ids"]
    assert segments(enc, 0) == (ids(tok, "what is it"), ids(tok, "a short passage"))


def test_a_long_passage_is_split_into_overlapping_windows_that_cover_it(tok: PreTrainedTokenizerBase) -> None:
    enc = encode_windows(tok, [("what is it", DOC)], max_length=24, overlap=4)
    n = len(enc.input_ids)
    assert n > 1 and enc.pair_of_window == [0] * n
    assert all(len(row) <= 24 for row in enc.input_ids)
    parts = [segments(enc, w) for w in range(n)]
    assert all(query == ids(tok, "what is it") for query, _ in parts)
    for (_, before), (_, after) in zip(parts, parts[1:]):
        assert after[:4] == before[-4:]
    rebuilt = parts[0][1] + [t for _, doc in parts[1:] for t in doc[4:]]
    assert rebuilt == ids(tok, DOC)


def test_windows_stay_with_their_pair_in_pair_order(tok: PreTrainedTokenizerBase) -> None:
    pairs = [("q one", DOC), ("q two", "short"), ("q three", DOC)]
    enc = encode_windows(tok, pairs, max_length=24, overlap=4)
    assert enc.pair_of_window == sorted(enc.pair_of_window)
    assert enc.pair_of_window.count(1) == 1
    assert enc.pair_of_window.count(0) == enc.pair_of_window.count(2) > 1


def test_a_query_longer_than_half_the_window_is_shortened(tok: PreTrainedTokenizerBase) -> None:
    # 16 tokens less 3 special tokens leave 13; half of that (rounded down) is 6 query tokens.
    long_query = "one two three four five six seven eight nine ten"
    pairs = [(long_query, "a passage"), ("short query", "a passage"), (long_query, DOC)]
    with pytest.warns(UserWarning, match=r"1 query longer than 6 tokens .* were shortened"):
        enc = encode_windows(tok, pairs, max_length=16, overlap=2)
    assert enc.truncated_queries == [0, 2]
    for w, pair in enumerate(enc.pair_of_window):
        query, doc = segments(enc, w)
        assert query == (ids(tok, "short query") if pair == 1 else ids(tok, "one two three four five six"))
        assert doc and len(enc.input_ids[w]) <= 16


def test_a_query_of_exactly_half_the_window_is_kept(tok: PreTrainedTokenizerBase) -> None:
    query = "one two three four five six"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc = encode_windows(tok, [(query, "a passage")], max_length=16, overlap=2)
    assert enc.truncated_queries == []
    assert segments(enc, 0)[0] == ids(tok, query)


def test_a_pairs_windows_do_not_depend_on_the_other_pairs(tok: PreTrainedTokenizerBase) -> None:
    alone = encode_windows(tok, [("q", DOC)], max_length=24, overlap=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixed = encode_windows(tok, [("a much longer question " * 3, DOC), ("q", DOC)], 24, overlap=8)
    assert [row for row, p in zip(mixed.input_ids, mixed.pair_of_window) if p == 1] == alone.input_ids


@pytest.mark.parametrize(
    ("how", "expected"), [("max", [3.0, 2.0, -1.0]), ("mean", [2.0, 2.0, -2.0]), ("first", [1.0, 2.0, -3.0])]
)
def test_aggregate_windows_combines_logits_per_pair(how: str, expected: list[float]) -> None:
    logits = np.array([1.0, 3.0, 2.0, 2.0, -3.0, -1.0])
    combined, counts = aggregate_windows(logits, [0, 0, 0, 1, 2, 2], 3, how)  # type: ignore[arg-type]
    assert combined == pytest.approx(expected)
    assert counts == [3, 1, 2]


def test_aggregate_windows_counts_the_windows_encode_windows_made(tok: PreTrainedTokenizerBase) -> None:
    enc = encode_windows(tok, [("q", DOC), ("q", "short")], max_length=24, overlap=4)
    logits = np.arange(len(enc.input_ids), dtype=np.float32)
    combined, counts = aggregate_windows(logits, enc.pair_of_window, 2, "max")
    assert counts == [len(enc.input_ids) - 1, 1]
    assert combined == [float(len(enc.input_ids) - 2), float(len(enc.input_ids) - 1)]


def test_aggregate_windows_refuses_an_unknown_rule() -> None:
    with pytest.raises(
        ValueError, match=r"unknown aggregation 'median'; choose one of \('max', 'mean', 'first'\)"
    ):
        aggregate_windows(np.array([1.0]), [0], 1, "median")  # type: ignore[arg-type]
