"""A small thread-safe LRU cache of scores, with visible hit and miss counts.

functools.lru_cache cannot be shared across a batch call (we look up many keys,
compute the misses together, then insert them), so this is a plain OrderedDict.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class CacheInfo:
    """Cache statistics.

    Attributes:
        hits: Lookups answered from the cache.
        misses: Lookups that had to be scored.
        size: Entries held now.
        maxsize: Capacity (0 means the cache is off).
    """

    hits: int
    misses: int
    size: int
    maxsize: int


def text_key(model: str, query: str, text: str) -> tuple[str, str, str]:
    """The cache key of a (model, query, document) triple; documents are hashed to keep keys small.

    Example:
        ```python
        text_key("m", "q", "doc")[2][:8]
        # -> '139d544b'
        ```
    """
    return (model, query, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


class LRUCache(Generic[V]):
    """A bounded least-recently-used mapping.

    Example:
        ```python
        cache = LRUCache[int](maxsize=1)
        cache.put("a", 1); cache.put("b", 2)
        cache.get("a") is None, cache.get("b"), cache.info().size
        # -> (True, 2, 1)
        ```
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 0:
            raise ValueError(f"cache size must be >= 0, got {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict[object, V] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, key: object) -> V | None:
        """The cached value, or ``None``; counts a hit or a miss."""
        with self._lock:
            if key in self._data:
                self._hits += 1
                self._data.move_to_end(key)
                return self._data[key]
            self._misses += 1
            return None

    def put(self, key: object, value: V) -> None:
        """Insert a value, evicting the least recently used entry when full."""
        if self.maxsize == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def info(self) -> CacheInfo:
        """Hits, misses, size and capacity."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._data), self.maxsize)

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._data.clear()
            self._hits = self._misses = 0
