"""The decision flow of ``crossrank ask``: retrieve, rerank, gate, then answer, warn or refuse.

::

    question -> first stage (top_k, dense or hybrid) -> CrossEncoderScorer.rerank + RelevancePolicy
        relevant -> generator with numbered sources [1].. [n]; the answer cites them
        weak     -> the same, with a visible low-confidence warning (or, with on_weak="refuse", like none)
        none     -> no generation; keyword (bm25s) matches over the same corpus, and a plain
                    statement that documents were found but none was relevant enough,
                    with the best score and the threshold
        ungated  -> (min_probability none) answered, with a warning that nothing was gated

The threshold is the reranker's recommended one unless the settings name another.
``weak`` means the best passage is below it but at least ``weak_min_probability``
(or was kept through ``min_keep``): the policy's weak band, as everywhere in crossrank. Every answer carries a
``Trace``: first-stage ranks and scores, rerank scores, how far each passage moved,
what was dropped and why, and the time of each stage.

One ``RagPipeline`` holds the models and the Qdrant client; it is safe to share
between threads, and ``aask`` runs ``ask`` in a bounded thread pool so an event
loop is never blocked.

Example:
    ```python
    from crossrank.rag.settings import RagSettings
    pipeline = RagPipeline.from_settings(RagSettings(generator="extractive"))
    answer = pipeline.ask("How do I reset my password?")
    answer.verdict.value, [s.number for s in answer.sources]
    # -> ('relevant', [1, 2])
    ```
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from crossrank.inputs import check_query
from crossrank.rag.generate import GenerationError, Generator, Passage, make_generator
from crossrank.rag.keywords import KeywordHit
from crossrank.rag.retrieve import Candidate, KeywordFallback, Retriever
from crossrank.rag.settings import RagSettings
from crossrank.rag.store import ChunkStore, open_store
from crossrank.results import RankedDocument, RerankResult, Verdict
from crossrank.scorer import CrossEncoderScorer
from crossrank.scores import Score

ScoreFunction = Callable[[str, list[str]], Awaitable[list[Score]]]
"""An async ``(question, passages) -> scores`` (input order): how a server lends its batcher to ``aask``."""


@dataclass(frozen=True)
class Source:
    """A passage the answer was built from, cited as ``[number]``.

    Attributes:
        number: The marker used in the answer, 1-based.
        text: The passage.
        source: The file it came from.
        title: The document title.
        chunk_index: Its position in the file.
        relevance_score: Reranker relevance probability (a plain float).
        relevance_logit: Reranker logit.
        passed_threshold: Whether it cleared the threshold (``False``: kept as a weak passage).
        retrieval_rank: First-stage rank.
        rerank_rank: Rank after reranking.

    The score fields use crossrank's vocabulary (``crossrank.results.FIELDS``).
    """

    number: int
    text: str
    source: str
    title: str
    chunk_index: int
    relevance_score: float
    relevance_logit: float
    passed_threshold: bool
    retrieval_rank: int
    rerank_rank: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CandidateTrace:
    """One first-stage candidate, followed through the reranker and the gate.

    Attributes:
        moved: ``retrieval_rank - rerank_rank``: positive moved up, negative moved down.
        kept: Whether it went on to the generator.
        drop_reason: Why not (``below_min_probability``, ``below_min_relative``, ``beyond_top_n``).

    The other fields are named as in ``crossrank.results.FIELDS``.
    """

    retrieval_rank: int
    retrieval_score: float
    rerank_rank: int
    relevance_score: float
    relevance_logit: float
    moved: int
    kept: bool
    passed_threshold: bool
    drop_reason: str | None
    source: str
    title: str
    chunk_index: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Trace:
    """How an answer came about (what ``--explain`` prints).

    Attributes:
        first_stage: ``dense`` or ``hybrid``.
        top_k: Candidates asked of the first stage.
        policy: The gate's settings (plus ``weak_min_probability`` and ``on_weak``).
        candidates: Every candidate in reranked order.
        timings_ms: Milliseconds per stage: retrieve, rerank, generate, fallback, total.
    """

    first_stage: str
    top_k: int
    policy: dict[str, Any]
    candidates: list[CandidateTrace]
    timings_ms: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "first_stage": self.first_stage,
            "top_k": self.top_k,
            "policy": self.policy,
            "candidates": [c.to_dict() for c in self.candidates],
            "timings_ms": self.timings_ms,
        }


@dataclass(frozen=True)
class Answer:
    """The result of one question.

    Attributes:
        question: The question.
        verdict: ``relevant``, ``weak``, ``none`` or ``ungated`` (what the gate said).
        text: The generated (or extracted) answer; ``None`` when nothing was generated.
        answered: Whether ``text`` holds an answer.
        warning: A low-confidence warning (verdict ``weak``), else ``None``.
        message: Why there is no answer (verdict ``none``, or a generation failure), else ``None``.
        generation_error: The generator's error message, if it failed or timed out.
        sources: The passages handed to the generator, numbered as cited; kept even when
            generation failed.
        fallback: Keyword matches shown when nothing was relevant enough.
        best_probability: The best reranker probability among the candidates.
        threshold: The relevance threshold applied (``None``: ungated).
        threshold_source: Where it came from: ``model`` (the reranker's recommended
            threshold), ``fitted`` (``crossrank calibrate`` on your documents), ``user``
            or ``none``.
        generator: Which generator answered (``local:...``, ``api:...``, ``extractive``).
        trace: The full trace (always recorded; print it with ``--explain``).
    """

    question: str
    verdict: Verdict
    text: str | None
    answered: bool
    warning: str | None
    message: str | None
    generation_error: str | None
    sources: list[Source]
    fallback: list[KeywordHit]
    best_probability: float | None
    threshold: float | None
    threshold_source: str
    generator: str
    trace: Trace = field(repr=False)

    def to_dict(self, *, include_trace: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (plain floats, strings, lists).

        Example:
            ```python
            import json  # json.dumps(answer.to_dict()) always works
            ```
        """
        out: dict[str, Any] = {
            "question": self.question,
            "verdict": self.verdict.value,
            "answered": self.answered,
            "answer": self.text,
            "warning": self.warning,
            "message": self.message,
            "generation_error": self.generation_error,
            "best_probability": self.best_probability,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "generator": self.generator,
            "sources": [s.to_dict() for s in self.sources],
            "fallback": [h.to_dict() for h in self.fallback],
        }
        if include_trace:
            out["trace"] = self.trace.to_dict()
        return out


def _trace(
    candidates: list[Candidate], result: RerankResult, settings: RagSettings, timings: dict[str, float]
) -> Trace:
    kept_ids = {d.index for d in result.kept}
    rows = []
    for doc in result.ranked:
        cand = candidates[doc.index]
        rows.append(
            CandidateTrace(
                retrieval_rank=cand.rank,
                retrieval_score=cand.score,
                rerank_rank=doc.rank,
                relevance_score=doc.probability,
                relevance_logit=doc.logit,
                moved=cand.rank - doc.rank,
                kept=doc.index in kept_ids,
                passed_threshold=doc.passed,
                drop_reason=None if doc.drop_reason is None else doc.drop_reason.value,
                source=cand.source,
                title=cand.title,
                chunk_index=cand.chunk_index,
                text=cand.text,
            )
        )
    policy = {
        **result.policy.to_dict(),
        "threshold": result.gate.threshold,
        "threshold_source": result.gate.source,
        "on_weak": settings.on_weak,
    }
    return Trace(
        first_stage=settings.first_stage,
        top_k=settings.top_k,
        policy=policy,
        candidates=rows,
        timings_ms=timings,
    )


def _source(number: int, doc: RankedDocument, cand: Candidate) -> Source:
    return Source(
        number=number,
        text=cand.text,
        source=cand.source,
        title=cand.title,
        chunk_index=cand.chunk_index,
        relevance_score=doc.probability,
        relevance_logit=doc.logit,
        passed_threshold=doc.passed,
        retrieval_rank=cand.rank,
        rerank_rank=doc.rank,
    )


class RagPipeline:
    """Retrieve, rerank, gate and answer; one instance per process, shared by all callers.

    Args:
        settings: Store, models, gate and generator settings.
        store: An open chunk store (default: ``open_store(settings)``).
        scorer: A reranker (default: ``CrossEncoderScorer(settings.model, ...)``).
        generator: A generator (default: ``make_generator(settings)``).

    Build it with ``RagPipeline.from_settings(settings)``; call ``ask`` (threads) or
    ``aask`` (asyncio).
    """

    def __init__(
        self,
        settings: RagSettings,
        *,
        store: ChunkStore | None = None,
        scorer: CrossEncoderScorer | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or open_store(settings)
        self.scorer = scorer or CrossEncoderScorer(
            settings.model, backend=settings.backend, device=settings.device
        )
        self.generator: Generator = generator or make_generator(settings)
        from crossrank.retrieval.embed import load_embedder

        self.retriever = Retriever(self.store, settings.first_stage, load_embedder(settings.embedding_model))
        self.keyword_fallback = KeywordFallback(self.store)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: RagSettings | None = None) -> RagPipeline:
        """Build a pipeline from settings (default: ``RagSettings()``, i.e. the environment).

        Raises:
            QdrantUnavailableError: Qdrant cannot be reached or opened.
            ModelNotAvailableError: The reranker is not available offline.
        """
        return cls(settings or RagSettings())

    def warm_up(self) -> None:
        """Load the generator now instead of on the first question (a server calls this at start)."""
        load = getattr(self.generator, "load", None)
        if callable(load):
            load()

    # -- the flow -----------------------------------------------------------------------
    def ask(self, question: str) -> Answer:
        """Answer ``question`` from the collection, or say why not.

        Raises:
            TypeError, ValueError: The question is not a non-empty string.
            LookupError: Nothing has been ingested into the collection.
            QdrantUnavailableError: The Qdrant server stopped answering.
        """
        check_query(question, "question")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        candidates = self._retrieve(question, timings)
        mark = time.perf_counter()
        result = self.scorer.rerank(question, [c.text for c in candidates], self.settings.policy())
        timings["rerank"] = (time.perf_counter() - mark) * 1000
        return self._decide(question, candidates, result, timings, started)

    def _retrieve(self, question: str, timings: dict[str, float]) -> list[Candidate]:
        mark = time.perf_counter()
        candidates = self.retriever.retrieve(question, self.settings.top_k)
        timings["retrieve"] = (time.perf_counter() - mark) * 1000
        return candidates

    def _decide(
        self,
        question: str,
        candidates: list[Candidate],
        result: RerankResult,
        timings: dict[str, float],
        started: float,
    ) -> Answer:
        """Gate, then generate, warn or refuse (with the keyword fallback): everything after the rerank."""
        settings = self.settings
        sources = [_source(n, doc, candidates[doc.index]) for n, doc in enumerate(result.kept, start=1)]
        verdict = result.verdict
        text: str | None = None
        warning = message = error = None
        fallback: list[KeywordHit] = []

        refuse = verdict is Verdict.NONE or (verdict is Verdict.WEAK and settings.on_weak == "refuse")
        if refuse:
            mark = time.perf_counter()
            fallback = self.keyword_fallback.search(question, settings.fallback_k)
            timings["fallback"] = (time.perf_counter() - mark) * 1000
            message = self._refusal(len(candidates), result, len(fallback))
            sources = []
        else:
            if verdict is Verdict.WEAK:
                warning = (
                    f"Low confidence: no passage reached the relevance threshold {result.gate.threshold:.2f} "
                    f"(best {result.best_probability:.2f}); this answer may not be supported by the documents."
                )
            elif verdict is Verdict.UNGATED:
                warning = (
                    "Ungated: no relevance threshold applied (min_probability is none, or the reranker "
                    "recommends none), so the passages were not checked for relevance."
                )
            mark = time.perf_counter()
            try:
                text = self.generator.generate(
                    question, [Passage(s.number, s.text, s.title) for s in sources]
                )
            except GenerationError as exc:
                error = str(exc)
                message = f"No answer could be generated ({error}). The relevant sources are listed below."
            timings["generate"] = (time.perf_counter() - mark) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000

        return Answer(
            question=question,
            verdict=verdict,
            text=text,
            answered=text is not None,
            warning=warning,
            message=message,
            generation_error=error,
            sources=sources,
            fallback=fallback,
            best_probability=result.best_probability,
            threshold=result.gate.threshold,
            threshold_source=result.gate.source,
            generator=self.generator.name,
            trace=_trace(candidates, result, settings, timings),
        )

    def _refusal(self, n_candidates: int, result: RerankResult, n_keyword: int) -> str:
        threshold = result.gate.threshold or 0.0
        if n_candidates == 0:
            return "The collection is empty: ingest documents first (crossrank ingest PATH)."
        best = result.best_probability or 0.0
        keyword = (
            f" {n_keyword} keyword matches are shown instead."
            if n_keyword
            else " Keyword search found no matches either."
        )
        return (
            f"Found {n_candidates} passages, but none is relevant enough to answer from: the best relevance score "
            f"is {best:.2f}, below the threshold {threshold:.2f}. No answer was generated.{keyword} "
            "The collection probably needs documents on this topic."
        )

    # -- async --------------------------------------------------------------------------
    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.settings.max_workers, thread_name_prefix="crossrank-rag"
                )
            return self._executor

    async def aask(self, question: str, score: ScoreFunction | None = None) -> Answer:
        """``ask`` in a bounded worker pool; the event loop is never blocked by the models.

        With ``score``, the rerank goes through it instead of this pipeline's scorer: the
        HTTP server passes its dynamic batcher, so answers share batches, the queue limit,
        admission control and the request timeout with ``/v1/rerank``. Its exceptions
        (a full queue, a deadline) reach the caller unchanged.

        Example:
            ```python
            answer = await pipeline.aask("How do I reset my password?", score=batcher.submit)
            ```
        """
        loop = asyncio.get_running_loop()
        if score is None:
            answer: Answer = await loop.run_in_executor(self._pool(), self.ask, question)
            return answer
        check_query(question, "question")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        candidates = await loop.run_in_executor(self._pool(), self._retrieve, question, timings)
        texts = [c.text for c in candidates]
        mark = time.perf_counter()
        scores = await score(question, texts) if texts else []
        result = self.settings.policy().apply(
            question, texts, scores, recommended=self.scorer.recommended_gate
        )
        timings["rerank"] = (time.perf_counter() - mark) * 1000
        decided: Answer = await loop.run_in_executor(
            self._pool(), self._decide, question, candidates, result, timings, started
        )
        return decided

    def close(self) -> None:
        """Stop the worker threads (shared models and the Qdrant client stay open for reuse)."""
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
