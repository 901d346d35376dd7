"""Dynamic micro-batching: concurrent rerank requests share model batches.

Each request puts its ``(query, documents)`` group on an asyncio queue and awaits a
future. One worker task takes the first waiting request, waits up to ``max_wait_ms``
for more (up to ``max_batch_size`` documents in all), scores the whole batch with
one ``CrossEncoderScorer.ascore_many`` call in the scorer's worker thread, and
hands each caller its own scores. While a batch runs, new requests queue up, so
under load batches fill by themselves and the wait is only paid when idle.

Hand-written because the batching libraries on PyPI either own the model call
(Ray Serve's ``@serve.batch``, which ``crossrank.server.ray_serve`` uses when Ray is
there) or batch one function argument at a time; here a batch is a list of
variable-size groups and a failing or cancelled group must not take the others down.

Example:
    >>> import asyncio
    >>> from crossrank import CrossEncoderScorer
    >>> async def main():
    ...     batcher = DynamicBatcher(CrossEncoderScorer(), max_batch_size=32, max_wait_ms=5)
    ...     await batcher.start()
    ...     scores = await batcher.submit("capital of France?", ["Paris is the capital of France."])
    ...     await batcher.stop()
    ...     return scores[0].probability > 0.5
    >>> asyncio.run(main())
    True
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crossrank.scores import Score

if TYPE_CHECKING:  # the server imports the scoring stack only when it loads the model
    from crossrank.scorer import CrossEncoderScorer

log = logging.getLogger("crossrank.server")


class QueueFullError(Exception):
    """The batch queue holds ``max_queue`` requests already; the caller should retry later (429)."""


class BatcherClosedError(Exception):
    """The batcher is shutting down and takes no new requests (503)."""


class DeadlineExceededError(Exception):
    """The request's deadline passed while it waited in the queue; it was not scored (503)."""


@dataclass(frozen=True)
class BatchStats:
    """What the batcher reports after every batch (wired to Prometheus by the app).

    ``documents`` went through the model; ``delivered`` of them reached a caller still
    waiting (the rest belong to callers that timed out or left while the batch ran).
    """

    requests: int
    documents: int
    seconds: float
    failed: bool
    delivered: int = 0


@dataclass
class _Pending:
    query: str
    texts: list[str]
    future: asyncio.Future[list[Score]]
    deadline: float | None = None  # time.perf_counter() after which nobody waits for the scores
    enqueued: float = field(default_factory=time.perf_counter)

    def withdrawn(self, now: float) -> bool:
        """Nobody will read this request's scores: its caller left, or its deadline passed.

        The caller's own timeout answers 503 at the deadline, but it runs on the same
        event loop as the worker, so under load it may fire after the worker took the
        request; checking the deadline here keeps such requests away from the model.
        """
        if self.future.done():
            return True
        if self.deadline is not None and now >= self.deadline:
            self.future.set_exception(DeadlineExceededError("the request's deadline passed in the queue"))
            return True
        return False


class DynamicBatcher:
    """Merges concurrent ``(query, documents)`` requests into shared ``score_many`` batches.

    Args:
        scorer: The shared scorer; batches run in its bounded executor.
        max_batch_size: Most documents in one batch. A single request larger than
            this is scored alone (never split, never refused here).
        max_wait_ms: How long the first request of a batch waits for others.
        max_queue: Most requests waiting; ``submit`` raises ``QueueFullError`` beyond it.
        on_batch: Called after every batch with its ``BatchStats`` (for metrics).

    Example:
        >>> batcher = DynamicBatcher(CrossEncoderScorer(), max_batch_size=64, max_wait_ms=2)
        >>> batcher.queue_depth
        0
    """

    def __init__(
        self,
        scorer: CrossEncoderScorer,
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 5.0,
        max_queue: int = 256,
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        self.scorer = scorer
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._carry: _Pending | None = None  # taken from the queue but did not fit the last batch
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        self._busy = False  # a batch is being scored

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the model (not counting the batch being scored)."""
        waiting = 0 if self._queue is None else self._queue.qsize()
        return waiting + (self._carry is not None)

    @property
    def running(self) -> bool:
        """Whether the worker task is alive."""
        return self._worker is not None and not self._worker.done()

    async def start(self) -> None:
        """Start the worker task on the running event loop."""
        if self.running:
            return
        self._queue = asyncio.Queue(maxsize=self.max_queue)
        self._closing = False
        self._worker = asyncio.create_task(self._work(), name="crossrank-batcher")

    async def stop(self, drain: bool = True) -> None:
        """Stop taking requests; with ``drain`` score everything already queued first."""
        self._closing = True
        if self._worker is None:
            return
        if drain and self._queue is not None:
            while (self._queue.qsize() or self._carry is not None or self._busy) and self.running:
                await asyncio.sleep(0.01)
        self._worker.cancel()
        try:
            await self._worker
        except asyncio.CancelledError:
            pass
        self._worker = None
        self._fail_waiting(BatcherClosedError("the server is shutting down"))

    async def submit(self, query: str, texts: Sequence[str], deadline: float | None = None) -> list[Score]:
        """Queue one request and wait for its scores (input order).

        Cancelling the awaiting task (timeout, client gone) removes the request: it is
        skipped if still queued, and its scores are discarded if already in a batch.
        A request still queued at ``deadline`` (a ``time.perf_counter()`` value) is
        dropped the same way, even if its caller has not noticed yet.

        Raises:
            QueueFullError: ``max_queue`` requests are already waiting.
            BatcherClosedError: The batcher is stopping or was never started.
            DeadlineExceededError: ``deadline`` passed before a batch took the request.
        """
        if self._closing or self._queue is None or not self.running:
            raise BatcherClosedError(
                "the server is shutting down" if self._closing else "the batcher is not running"
            )
        future: asyncio.Future[list[Score]] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Pending(query, list(texts), future, deadline))
        except asyncio.QueueFull:
            raise QueueFullError(f"{self.max_queue} requests are already waiting for the model") from None
        return await future

    # -- the worker -----------------------------------------------------------------
    async def _next_live(self, timeout: float | None) -> _Pending | None:
        """The next request whose caller is still waiting, or None on timeout."""
        assert self._queue is not None
        while True:
            if self._carry is not None:
                item, self._carry = self._carry, None
            elif timeout is None:
                item = await self._queue.get()
            else:
                if timeout <= 0:
                    try:
                        item = self._queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return None
                else:
                    try:
                        item = await asyncio.wait_for(self._queue.get(), timeout)
                    except asyncio.TimeoutError:
                        return None
            if not item.withdrawn(time.perf_counter()):  # dropped here, before any model work
                return item

    async def _collect(self) -> list[_Pending]:
        first = await self._next_live(None)
        assert first is not None
        batch, documents = [first], len(first.texts)
        deadline = time.perf_counter() + self.max_wait_s
        while documents < self.max_batch_size:
            item = await self._next_live(deadline - time.perf_counter())
            if item is None:
                break
            if documents + len(item.texts) > self.max_batch_size:
                self._carry = item  # first of the next batch; keeps arrival order
                break
            batch.append(item)
            documents += len(item.texts)
        return batch

    async def _work(self) -> None:
        while True:
            batch = await self._collect()
            # Checked again: collecting waited up to max_wait_ms, and callers may have left since.
            now = time.perf_counter()
            live = [p for p in batch if not p.withdrawn(now)]
            if not live:
                continue
            self._busy = True
            try:
                await self._run_batch(live)
            finally:
                self._busy = False

    async def _run_batch(self, live: list[_Pending]) -> None:
        started = time.perf_counter()
        failed = False
        try:
            results = await self.scorer.ascore_many([(p.query, p.texts) for p in live])
        except asyncio.CancelledError:
            self._fail(live, BatcherClosedError("the server is shutting down"))
            raise
        except Exception:  # one bad group must not fail the others: score them one by one
            failed = True
            log.exception("batch of %d requests failed; scoring them one by one", len(live))
            delivered = await self._score_alone(live)
        else:
            delivered = sum(self._deliver(pending, scores) for pending, scores in zip(live, results))
        if self._on_batch is not None:
            documents = sum(len(p.texts) for p in live)
            self._on_batch(BatchStats(len(live), documents, time.perf_counter() - started, failed, delivered))

    async def _score_alone(self, batch: list[_Pending]) -> int:
        """Score each request on its own; the number of documents delivered."""
        delivered = 0
        for pending in batch:
            if pending.withdrawn(time.perf_counter()):
                continue
            try:
                scores = (await self.scorer.ascore_many([(pending.query, pending.texts)]))[0]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                if not pending.future.done():
                    pending.future.set_exception(exc)
            else:
                delivered += self._deliver(pending, scores)
        return delivered

    @staticmethod
    def _deliver(pending: _Pending, scores: list[Score]) -> int:
        """Hand ``scores`` to a caller still waiting; the number of documents delivered."""
        if pending.future.done():
            return 0
        pending.future.set_result(scores)
        return len(scores)

    def _fail(self, batch: list[_Pending], exc: Exception) -> None:
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(exc)

    def _fail_waiting(self, exc: Exception) -> None:
        waiting: list[_Pending] = [] if self._carry is None else [self._carry]
        self._carry = None
        while self._queue is not None and not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        self._fail(waiting, exc)
