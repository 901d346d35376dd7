"""``CrossEncoderScorer``: the one scorer every crossrank caller shares.

It turns (query, documents) into ``Score`` records (raw logit, probability, window
count) and, with a ``RelevancePolicy``, into a ``RerankResult``. The model behind it
comes from the per-process registry, so every scorer, adapter and server worker that
names the same model shares one copy of the weights.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from crossrank.backends import Backend, load_backend, resolve_backend, resolve_device
from crossrank.cache import CacheInfo, LRUCache, text_key
from crossrank.calibration import Calibration, logit_of, sigmoid
from crossrank.inputs import check_query, check_texts
from crossrank.models import resolve_model
from crossrank.policy import RelevancePolicy
from crossrank.results import Gate, RerankResult
from crossrank.scores import Score
from crossrank.windows import AGGREGATIONS, Aggregation, aggregate_windows, encode_windows

QueryGroup = tuple[str, Sequence[str]]


class CrossEncoderScorer:
    """Scores documents against a query with a cross-encoder; reranks and gates them.

    Args:
        model: ``None`` for crossrank's shipped default, a local directory, or a
            Hugging Face hub id. Offline and not cached raises ``ModelNotAvailableError``
            at once, naming the model.
        backend: ``"auto"`` (default: ONNX int8 on a CPU where onnxruntime is installed,
            torch on a GPU), ``"onnx"`` or ``"torch"`` (fp32, exact), or a ready ``Backend``
            object (then ``model`` must be ``None`` and ``device`` is the backend's).
        backend_options: Passed to the backend's constructor (onnx: ``quantize``,
            ``cache_dir``, ``threads``); part of the shared-model key.
        device: ``"auto"`` (cuda, then mps, then cpu) or an explicit device.
        batch_size: Windows per model call; ``None`` picks the backend's default.
        max_length: Window size in tokens; ``None`` uses the length the model was saved
            with. Longer documents are split into windows of this size.
        window_overlap: Tokens shared by consecutive windows of a long document.
        aggregation: How window logits combine: ``"max"`` (default), ``"mean"``, ``"first"``.
        cache_size: Entries in the LRU score cache; 0 turns it off.
        calibration: ``"auto"`` applies ``crossrank_calibration.json`` saved beside the
            model if present; ``None`` uses the plain sigmoid; or a ``Calibration``.
        max_workers: Threads for the async methods (bounded so concurrent requests
            queue instead of oversubscribing the CPU).
        show_progress_bar: Show a progress bar over batches.

    Raises:
        ValueError: On an unknown aggregation, ``batch_size < 1`` or a ``max_length``
            the model cannot take.

    Example:
        ```python
        scorer = CrossEncoderScorer()  # the shipped default model
        scores = scorer.score("How do I reset my password?",
                              ["Click 'Forgot password' on the login screen.", "Bananas are yellow."])
        scores[0].probability > scores[1].probability
        # -> True
        result = scorer.rerank("How do I reset my password?", ["Bananas are yellow."],
                               policy=RelevancePolicy(min_probability=0.5))
        result.verdict.value
        # -> 'none'
        ```
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        backend: str | Backend = "auto",
        backend_options: Mapping[str, Any] | None = None,
        device: str | None = "auto",
        batch_size: int | None = None,
        max_length: int | None = None,
        window_overlap: int = 64,
        aggregation: Aggregation = "max",
        cache_size: int = 0,
        calibration: Calibration | str | None = "auto",
        max_workers: int = 1,
        show_progress_bar: bool = False,
    ) -> None:
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {aggregation!r}; choose one of {AGGREGATIONS}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if window_overlap < 0:
            raise ValueError(f"window_overlap must be >= 0, got {window_overlap}")
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        if isinstance(backend, str):
            # Names first (cheap, and a wrong backend is reported before a missing model).
            device_name = resolve_device(device)
            engine = resolve_backend(backend, device_name)
            resolved = resolve_model(model)
            self._backend: Backend = load_backend(
                resolved, backend=engine, device=device_name, options=backend_options
            )
            # The shared backend keeps the name its first loader used (a path, say); this
            # scorer reports the name its own caller gave.
            self._model_name = resolved.name
        elif isinstance(backend, Backend):
            if model is not None or backend_options:
                raise ValueError(
                    "backend is a ready Backend object, so model and backend_options must not be given "
                    f"(got model={model!r}, backend_options={backend_options!r})"
                )
            self._backend = backend
            self._model_name = backend.model_name
        else:
            raise TypeError(
                f"backend must be a name ('auto', 'onnx', 'torch') or a Backend, got {backend!r:.80}"
            )
        limit = self._backend.model_max_length
        if max_length is not None and not (8 <= max_length <= limit):
            raise ValueError(f"max_length must be between 8 and the model's limit {limit}, got {max_length}")
        self.max_length = max_length or self._backend.default_max_length
        self.batch_size = batch_size or self._backend.default_batch_size
        self.window_overlap = window_overlap
        self.aggregation: Aggregation = aggregation
        if calibration == "auto":
            self.calibration = Calibration.load(self._backend.model_path)
        elif calibration is None or isinstance(calibration, Calibration):
            self.calibration = calibration
        else:
            raise ValueError(f"calibration must be 'auto', None or a Calibration, got {calibration!r}")
        self.show_progress_bar = show_progress_bar
        self._cache: LRUCache[tuple[float, int]] = LRUCache(cache_size)
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    # -- what is loaded -------------------------------------------------------------
    @property
    def model_name(self) -> str:
        """The model as it was named (``crossrank-default``, a hub id or a path)."""
        return self._model_name

    @property
    def backend(self) -> Backend:
        """The shared backend running the model."""
        return self._backend

    @property
    def recommended_gate(self) -> Gate | None:
        """The model's recommended threshold (from its calibration), or ``None`` when it has none.

        A policy with ``min_probability="model"`` (the default) gates at it; without one
        it runs ungated and its verdict says ``ungated``.

        Example:
            ```python
            CrossEncoderScorer().recommended_gate   # Gate(threshold=0.49, source='model')
            ```
        """
        cal = self.calibration
        if cal is None or cal.threshold is None:
            return None
        return Gate(float(cal.threshold), cal.source)

    def cache_info(self) -> CacheInfo:
        """Hits, misses and size of the score cache.

        Example:
            ```python
            CrossEncoderScorer(cache_size=100).cache_info().maxsize
            # -> 100
            ```
        """
        return self._cache.info()

    def __repr__(self) -> str:
        return (
            f"CrossEncoderScorer(model={self.model_name!r}, backend={self._backend.name!r}, "
            f"device={self._backend.device!r}, max_length={self.max_length}, aggregation={self.aggregation!r})"
        )

    # -- scoring --------------------------------------------------------------------
    def _probability(self, logit: float) -> float:
        if self.calibration is not None:
            return float(self.calibration.probability(logit))
        return float(sigmoid(logit))

    def _raw_to_logits(self, raw: np.ndarray) -> np.ndarray:
        if self._backend.num_labels == 2:
            # log-odds of the positive class: softmax(raw)[1] == sigmoid(raw[1] - raw[0])
            return raw[:, 1] - raw[:, 0]
        column = raw[:, 0]
        if self._backend.output_kind == "probabilities":
            if np.any((column < -1e-4) | (column > 1 + 1e-4)):
                raise ValueError(
                    f"model {self.model_name!r} declares probability outputs but produced values outside [0, 1]"
                )
            return np.array([logit_of(p) for p in column.tolist()], dtype=np.float64)
        return column

    def _logits_for_pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[float, int]]:
        encoded = encode_windows(self._backend.tokenizer, pairs, self.max_length, self.window_overlap)
        n_windows = len(encoded.input_ids)
        # Length-aware batching: similar lengths share a batch so padding stays small.
        order = sorted(range(n_windows), key=lambda i: len(encoded.input_ids[i]))
        window_logits = np.zeros(n_windows, dtype=np.float64)
        batches = range(0, n_windows, self.batch_size)
        if self.show_progress_bar:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="Scoring", unit="batch")
        for start in batches:
            idx = order[start : start + self.batch_size]
            types = encoded.token_type_ids
            raw = self._backend.predict(
                [encoded.input_ids[i] for i in idx], None if types is None else [types[i] for i in idx]
            )
            window_logits[idx] = self._raw_to_logits(raw)
        logits, windows = aggregate_windows(
            window_logits, encoded.pair_of_window, len(pairs), self.aggregation
        )
        return list(zip(logits, windows))

    def score_many(self, groups: Sequence[QueryGroup], *, use_cache: bool = True) -> list[list[Score]]:
        """Score several ``(query, documents)`` groups in one batched pass.

        Windows of all groups are pooled, sorted by length and batched together, so
        many small queries cost about as much as one large one.

        Args:
            groups: ``(query, texts)`` pairs.
            use_cache: ``False`` runs the model on every pair and leaves the score cache
                and its counters untouched (a warm-up or a timing run).

        Returns:
            For each group, one ``Score`` per text, in input order.

        Raises:
            TypeError: A text that is not a string (the message names its position).
            ValueError: An empty query.

        Example:
            ```python
            scorer = CrossEncoderScorer()
            out = scorer.score_many([("capital of France?", ["Paris is the capital of France."]),
                                     ("largest planet?", ["Jupiter is the largest planet.", "Dogs bark."])])
            [len(scores) for scores in out]
            # -> [1, 2]
            ```
        """
        if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence):
            raise TypeError(f"groups must be a list of (query, texts) pairs, got {type(groups).__name__}")
        checked: list[tuple[str, list[str]]] = []
        for g, group in enumerate(groups):
            if not (isinstance(group, (tuple, list)) and len(group) == 2):
                raise TypeError(f"groups[{g}] must be a (query, texts) pair, got {type(group).__name__}")
            checked.append(
                (check_query(group[0], f"groups[{g}] query"), check_texts(group[1], f"groups[{g}] texts"))
            )

        keys = [[text_key(self.model_name, q, t) for t in texts] for q, texts in checked]
        results: dict[tuple[str, str, str], tuple[float, int]] = {}
        todo: dict[tuple[str, str, str], tuple[str, str]] = {}
        for (query, texts), group_keys in zip(checked, keys):
            for text, key in zip(texts, group_keys):
                if key in results or key in todo:
                    continue
                hit = self._cache.get(key) if use_cache else None
                if hit is not None:
                    results[key] = hit
                else:
                    todo[key] = (query, text)
        if todo:
            for key, value in zip(todo, self._logits_for_pairs(list(todo.values()))):
                results[key] = value
                if use_cache:
                    self._cache.put(key, value)
        return [
            [
                Score(
                    logit=float(results[k][0]),
                    probability=self._probability(results[k][0]),
                    windows=results[k][1],
                )
                for k in group_keys
            ]
            for group_keys in keys
        ]

    def score(self, query: str, texts: Sequence[str]) -> list[Score]:
        """Score ``texts`` against ``query``; one ``Score`` per text, in input order.

        Example:
            ```python
            scorer = CrossEncoderScorer()
            [s.windows for s in scorer.score("q?", ["short", ""])]
            # -> [1, 1]
            ```
        """
        return self.score_many([(query, texts)])[0]

    def rerank(
        self,
        query: str,
        texts: Sequence[str],
        policy: RelevancePolicy | None = None,
        first_stage_scores: Sequence[float] | None = None,
    ) -> RerankResult:
        """Score, sort and gate ``texts``; returns kept and dropped documents and a verdict.

        Args:
            query: The question.
            texts: Candidate passages, in retrieval order.
            policy: Thresholds; ``None``: ``RelevancePolicy()``, every candidate kept in
                order and gated at the model's recommended threshold (``ungated`` when
                the model has none).
            first_stage_scores: The retriever's score per text, for a policy that fuses
                with the first stage (``RelevancePolicy(fusion=Fusion(...))``).

        Example:
            ```python
            scorer = CrossEncoderScorer()
            r = scorer.rerank("capital of France?", ["Dogs bark.", "Paris is the capital of France."],
                              policy=RelevancePolicy(top_n=1))
            r.kept[0].index
            # -> 1
            ```
        """
        scores = self.score(query, texts)
        return (policy or RelevancePolicy()).apply(
            query, list(texts), scores, first_stage_scores, recommended=self.recommended_gate
        )

    # -- async ----------------------------------------------------------------------
    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="crossrank")
            return self._executor

    async def _run(self, fn: Any, *args: Any) -> Any:
        # The model is synchronous and CPU-bound; run it off the event loop in a bounded pool.
        return await asyncio.get_running_loop().run_in_executor(self._pool(), functools.partial(fn, *args))

    async def ascore(self, query: str, texts: Sequence[str]) -> list[Score]:
        """Async ``score``: runs the model in a worker thread, never on the event loop."""
        result: list[Score] = await self._run(self.score, query, texts)
        return result

    async def ascore_many(self, groups: Sequence[QueryGroup], *, use_cache: bool = True) -> list[list[Score]]:
        """Async ``score_many``."""
        result: list[list[Score]] = await self._run(
            functools.partial(self.score_many, use_cache=use_cache), groups
        )
        return result

    async def arerank(
        self,
        query: str,
        texts: Sequence[str],
        policy: RelevancePolicy | None = None,
        first_stage_scores: Sequence[float] | None = None,
    ) -> RerankResult:
        """Async ``rerank``.

        Example:
            ```python
            import asyncio
            scorer = CrossEncoderScorer()
            asyncio.run(scorer.arerank("q?", ["a"])).verdict.value
            # -> 'relevant'
            ```
        """
        result: RerankResult = await self._run(self.rerank, query, texts, policy, first_stage_scores)
        return result

    def close(self) -> None:
        """Stop the async worker threads (the shared model stays loaded)."""
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
