"""Tests of crossrank.cache: CacheInfo, text_key and LRUCache."""

from __future__ import annotations

import hashlib
import threading

import pytest

from crossrank.cache import CacheInfo, LRUCache, text_key


def test_hits_and_misses_are_counted() -> None:
    cache = LRUCache[int](maxsize=4)
    assert cache.get("a") is None
    cache.put("a", 1)
    assert cache.get("a") == 1
    assert cache.get("a") == 1
    assert cache.get("b") is None
    assert cache.info() == CacheInfo(hits=2, misses=2, size=1, maxsize=4)


def test_the_least_recently_used_entry_is_evicted_at_capacity() -> None:
    cache = LRUCache[str](maxsize=2)
    cache.put("a", "A")
    cache.put("b", "B")
    cache.put("c", "C")
    assert cache.info().size == 2
    assert cache.get("a") is None
    assert cache.get("b") == "B"
    assert cache.get("c") == "C"


def test_a_get_refreshes_recency() -> None:
    cache = LRUCache[str](maxsize=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"
    cache.put("c", "C")
    assert cache.get("b") is None
    assert cache.get("a") == "A"
    assert cache.get("c") == "C"


def test_putting_an_existing_key_replaces_it_and_refreshes_recency() -> None:
    cache = LRUCache[int](maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert cache.info().size == 2
    assert cache.get("a") == 10
    assert cache.get("b") is None


def test_size_zero_stores_nothing_and_counts_every_lookup_a_miss() -> None:
    cache = LRUCache[int](maxsize=0)
    cache.put("a", 1)
    assert cache.get("a") is None
    assert cache.get("a") is None
    assert cache.info() == CacheInfo(hits=0, misses=2, size=0, maxsize=0)


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match=r"cache size must be >= 0, got -1"):
        LRUCache[int](maxsize=-1)


def test_clear_drops_entries_and_resets_counters() -> None:
    cache = LRUCache[int](maxsize=3)
    cache.put("a", 1)
    cache.get("a")
    cache.get("z")
    cache.clear()
    assert cache.info() == CacheInfo(hits=0, misses=0, size=0, maxsize=3)
    assert cache.get("a") is None


def test_text_key_keeps_model_and_query_and_hashes_the_text() -> None:
    key = text_key("m", "q", "doc")
    assert key == ("m", "q", hashlib.sha256(b"doc").hexdigest())
    assert key[2].startswith("139d544b")


def test_text_key_separates_model_query_and_text() -> None:
    keys = {
        text_key("m", "ab", "c"),
        text_key("m", "a", "bc"),
        text_key("ma", "b", "c"),
        text_key("m", "abc", ""),
        text_key("other", "ab", "c"),
    }
    assert len(keys) == 5
    assert text_key("m", "q", "same") == text_key("m", "q", "same")


def test_text_key_accepts_a_lone_surrogate() -> None:
    assert text_key("m", "q", "\ud800") != text_key("m", "q", "\ud801")


def test_counts_stay_consistent_under_threads() -> None:
    cache = LRUCache[int](maxsize=16)
    threads_n, rounds = 8, 2000
    barrier = threading.Barrier(threads_n)
    wrong: list[tuple[int, int | None]] = []

    def hammer(worker: int) -> None:
        barrier.wait()
        for i in range(rounds):
            key = (worker * 7 + i) % 40
            value = cache.get(key)
            if value is not None and value != key * 3:
                wrong.append((key, value))
            cache.put(key, key * 3)

    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    info = cache.info()
    assert wrong == []
    assert info.hits + info.misses == threads_n * rounds
    assert info.hits > 0
    assert info.size == 16
