"""Dynamic micro-batching: concurrent rerank requests share model batches.

Each request puts its ``(query, documents)`` group on an asyncio queue and awaits a
future. One worker task takes the first waiting request, waits up to ``max_wait_ms``
for more (up to ``max_batch_size`` documents in all), scores the batch with one
``CrossEncoderScorer.ascore_many`` call in the scorer's worker thread, and hands each
caller its own scores. While a batch runs, new requests queue up, so under load
batches fill by themselves and the wait is only paid when idle.

A batch holds at most ``max_batch_size`` documents and at most ``max_batch_tokens``
tokens (query plus passage per document, estimated from characters: see
``estimated_tokens``). A request bigger than that is scored in slices that fit,
round-robin with every other request that is waiting (a turn is up to one batch's worth
of documents and tokens, so a small request cut off by the end of a batch finishes at
the start of the next instead of waiting a whole round): one 1,000-document request no
longer holds the model for its whole length while small requests time out behind it,
a batch of long passages costs about as much model time as a batch of short ones (so
how long a turn takes does not depend on who sent what), a caller who left stops
costing model time at the next slice, and a shutdown waits for at most one slice
(``begin_shutdown``).

Hand-written because the batching libraries on PyPI either own the model call
(Ray Serve's ``@serve.batch``, which ``crossrank.server.ray_serve`` uses when Ray is
there) or batch one function argument at a time; here a batch is a list of
variable-size groups and a failing or cancelled group must not take the others down.

Example:
    ```python
    import asyncio
    from crossrank import CrossEncoderScorer
    async def main():
        batcher = DynamicBatcher(CrossEncoderScorer(), max_batch_size=32, max_wait_ms=5)
        await batcher.start()
        scores = await batcher.submit("capital of France?", ["Paris is the capital of France."])
        await batcher.stop()
        return scores[0].probability > 0.5
    asyncio.run(main())
    # -> True
    ```
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crossrank.scores import Score

if TYPE_CHECKING:  # the server imports the scoring stack only when it loads the model
    from crossrank.scorer import CrossEncoderScorer

log = logging.getLogger("crossrank.server")

# WordPiece and BPE vocabularies average 4-5 characters a token on English prose; 4 errs
# on the side of more tokens, so a batch's real size stays under its budget.
CHARS_PER_TOKEN = 4
# [CLS] and two [SEP] around a (query, passage) pair.
PAIR_SPECIAL_TOKENS = 3


def estimated_tokens(query: str, text: str) -> int:
    """Model tokens one (query, passage) pair costs, estimated from its characters.

    An estimate, not the tokenizer's count, because it is computed on the event loop for
    every document of every request: tokenizing a 1,000-document request there would
    stall every other request for tens of milliseconds. Windows of a long passage repeat
    the query, which the estimate ignores; ``max_batch_tokens`` leaves room for it.

    Example:
        ```python
        estimated_tokens("capital of France?", "Paris is the capital of France.")
        # -> 16
        ```
    """
    return PAIR_SPECIAL_TOKENS + -(-len(query) // CHARS_PER_TOKEN) + -(-len(text) // CHARS_PER_TOKEN)


class QueueFullError(Exception):
    """The batcher will not take the request now; the caller should retry later (429).

    Raised when ``max_queue`` requests are waiting already, or when the work queued ahead
    would not be scored before the request's deadline (``retry_after_s`` says about when
    it would be).
    """

    def __init__(self, message: str, *, reason: str = "queue_full", retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.reason = reason  # "queue_full" or "overloaded", the rejection reason the metrics count
        self.retry_after_s = retry_after_s


class TooMuchWorkError(Exception):
    """The request alone needs more model time than its deadline allows (413): retrying cannot help.

    ``needed_s`` is the model time it would take at the speed measured on recent batches.
    """

    def __init__(self, message: str, *, needed_s: float) -> None:
        super().__init__(message)
        self.needed_s = needed_s


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


@dataclass(eq=False)  # compared and hashed by identity: the batcher keeps a set of them
class _Pending:
    query: str
    texts: list[str]
    future: asyncio.Future[list[Score]]
    deadline: float | None = None  # time.perf_counter() after which nobody waits for the scores
    enqueued: float = field(default_factory=time.perf_counter)
    scores: list[Score] = field(default_factory=list)  # of the slices scored so far, in order
    tokens: list[int] = field(init=False)  # estimated_tokens of each document
    turn_documents: int = 0  # scored in its current turn (see DynamicBatcher._next_turn_order)
    turn_tokens: int = 0

    def __post_init__(self) -> None:
        # A non-string is costed as empty: the scorer then refuses it with its position.
        self.tokens = [
            estimated_tokens(self.query, text if isinstance(text, str) else "") for text in self.texts
        ]

    @property
    def remaining(self) -> int:
        """Documents not scored yet."""
        return len(self.texts) - len(self.scores)

    @property
    def remaining_tokens(self) -> int:
        """Estimated tokens of the documents not scored yet."""
        return sum(self.tokens[len(self.scores) :])

    def withdrawn(self, now: float) -> bool:
        """Nobody will read this request's scores: its caller left, or its deadline passed.

        The caller's own timeout answers 503 at the deadline, but it runs on the same
        event loop as the worker, so under load it may fire after the worker took the
        request; checking the deadline here keeps such requests away from the model.
        """
        if self.future.done():
            return True
        if self.deadline is not None and now >= self.deadline:
            self.future.set_exception(
                DeadlineExceededError("the request's deadline passed before it was scored")
            )
            return True
        return False


class DynamicBatcher:
    """Merges concurrent ``(query, documents)`` requests into shared ``score_many`` batches.

    Args:
        scorer: The shared scorer; batches run in its bounded executor.
        max_batch_size: Most documents in one model call. A request larger than this
            is scored in slices of this size, taking turns with the other requests.
        max_batch_tokens: Most tokens (estimated, query and passage) in one model call;
            ``None`` for no token budget. A single document above it is scored alone.
        max_wait_ms: How long the first request of a batch waits for others.
        max_queue: Most requests waiting; ``submit`` raises ``QueueFullError`` beyond it.
        admit_fraction: Admission control. A request with a deadline is refused at once
            (``QueueFullError``, reason ``overloaded``) when the model time it would wait
            for, at the throughput measured on recent batches, exceeds this fraction of
            the time left to its deadline: a quick 429 the client can retry elsewhere,
            instead of a 503 after the whole timeout and model work nobody reads. A
            request whose own work exceeds the time left divided by this fraction is
            refused with ``TooMuchWorkError``: it would time out on an idle server too.
            ``None`` turns it off.
        on_batch: Called after every batch with its ``BatchStats`` (for metrics).

    Example:
        ```python
        batcher = DynamicBatcher(CrossEncoderScorer(), max_batch_size=64, max_wait_ms=2)
        batcher.queue_depth
        # -> 0
        ```
    """

    def __init__(
        self,
        scorer: CrossEncoderScorer,
        *,
        max_batch_size: int = 64,
        max_batch_tokens: int | None = 16_384,
        max_wait_ms: float = 5.0,
        max_queue: int = 256,
        admit_fraction: float | None = 0.7,
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_batch_tokens is not None and max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens must be >= 1 or None, got {max_batch_tokens}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        if admit_fraction is not None and not 0 < admit_fraction <= 1:
            raise ValueError(f"admit_fraction must be in (0, 1] or None, got {admit_fraction}")
        self.scorer = scorer
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self._token_budget = float("inf") if max_batch_tokens is None else float(max_batch_tokens)
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.admit_fraction = admit_fraction
        self._on_batch = on_batch
        # Every submitted request whose caller still waits, queued or taking turns.
        self._waiting: set[_Pending] = set()
        # Estimated tokens scored per second of the worker's busy time, smoothed over batches.
        self._tokens_per_s: float | None = None
        # When the worker's current cycle began: the end of the last batch while work was
        # waiting, else the moment the first request of an idle spell arrived.
        self._cycle_start = time.perf_counter()
        self._queue: asyncio.Queue[_Pending] | None = None
        # Taken from the queue, not fully scored yet, in turn order (a slice each per batch).
        self._active: deque[_Pending] = deque()
        self._shutdown_timer: asyncio.TimerHandle | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        self._busy = False  # a batch is being scored

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the model (not counting the batch being scored)."""
        waiting = 0 if self._queue is None else self._queue.qsize()
        return waiting + len(self._active)

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

    async def warm_up(self, documents: int = 16, chars: int = 512) -> None:
        """Score one made-up batch so the model's first-call costs are paid and its speed is known.

        Admission control needs the model's speed before the first burst arrives: without
        it every request of that burst would be admitted, and most would time out. The
        server calls this after loading the model and before it reports ready.

        Example:
            ```python
            await batcher.warm_up()
            batcher.expected_wait_s(100) > 0
            # -> True
            ```
        """
        query = "how is a made-up warm-up passage scored?"
        filler = "a made-up passage that warms the model up " * (chars // 40 + 1)
        # Distinct texts, scored past the cache: a duplicate or a cache hit would make the
        # model look faster than it is, and warm-up must not show in the cache counters.
        texts = [f"{n} {filler}"[:chars] for n in range(min(documents, self.max_batch_size))]
        started = time.perf_counter()
        try:
            await self.scorer.ascore_many([(query, texts)], use_cache=False)
        except Exception:  # not fatal: the first real batch measures the speed instead
            log.warning("warm-up batch failed; admission control starts after the first batch", exc_info=True)
            return
        self._measure(sum(estimated_tokens(query, t) for t in texts), time.perf_counter() - started)

    def begin_shutdown(self, grace_s: float) -> None:
        """Take no new requests; answer what is still waiting after ``grace_s`` with ``BatcherClosedError``.

        Called when the process is told to stop (SIGTERM): requests that can finish in
        ``grace_s`` do; the rest get a clear 503 before the server's own graceful timeout
        cuts their connections. The model work then in progress is one slice at most.
        """
        self._closing = True
        if self._shutdown_timer is None:
            loop = asyncio.get_running_loop()
            self._shutdown_timer = loop.call_later(
                max(0.0, grace_s),
                lambda: self._fail_waiting(BatcherClosedError("the server is shutting down")),
            )

    async def stop(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stop taking requests; with ``drain`` score what is already queued first, for at most ``timeout`` s."""
        self._closing = True
        if self._worker is None:
            return
        give_up = None if timeout is None else time.perf_counter() + timeout
        if drain and self._queue is not None:
            while (self._queue.qsize() or self._active or self._busy) and self.running:
                if give_up is not None and time.perf_counter() >= give_up:
                    break
                await asyncio.sleep(0.01)
        if self._shutdown_timer is not None:
            self._shutdown_timer.cancel()
            self._shutdown_timer = None
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
            QueueFullError: ``max_queue`` requests are already waiting (reason
                ``queue_full``), or the work ahead would not be scored before
                ``deadline`` (reason ``overloaded``, see ``admit_fraction``).
            TooMuchWorkError: The request alone would overrun ``deadline`` (see
                ``admit_fraction``).
            BatcherClosedError: The batcher is stopping or was never started.
            DeadlineExceededError: ``deadline`` passed before a batch took the request.
        """
        if self._closing or self._queue is None or not self.running:
            raise BatcherClosedError(
                "the server is shutting down" if self._closing else "the batcher is not running"
            )
        future: asyncio.Future[list[Score]] = asyncio.get_running_loop().create_future()
        pending = _Pending(query, list(texts), future, deadline)
        self._refuse_if_late(pending)
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            raise QueueFullError(f"{self.max_queue} requests are already waiting for the model") from None
        self._waiting.add(pending)
        future.add_done_callback(lambda _: self._waiting.discard(pending))
        return await future

    def expected_wait_s(self, tokens: int) -> float | None:
        """Model seconds until a new request of ``tokens`` estimated tokens would be scored.

        Requests take turns a slice at a time, so each one waiting delays a new request
        by at most as much work as the new request itself has: a small request behind a
        1,000-document one waits for a slice of it, not all of it (processor sharing;
        arrivals after it are not foreseen). ``None`` before the first batch measured
        the model's speed.

        Example:
            ```python
            batcher.expected_wait_s(estimated_tokens("q?", "a passage")) is None  # before any batch
            # -> True
            ```
        """
        if self._tokens_per_s is None:
            return None
        ahead = sum(min(p.remaining_tokens, tokens) for p in self._waiting)
        return (ahead + tokens) / self._tokens_per_s

    def _refuse_if_late(self, pending: _Pending) -> None:
        """Raise if the request would not be scored by its deadline.

        ``TooMuchWorkError`` when its own work alone would overrun the deadline (with a
        margin for the estimate: only when it exceeds the time left by 1 / admit_fraction),
        ``QueueFullError`` (overloaded) when the work ahead of it would make it late.
        """
        if self.admit_fraction is None or pending.deadline is None or self._tokens_per_s is None:
            return
        time_left = pending.deadline - time.perf_counter()
        alone = pending.remaining_tokens / self._tokens_per_s
        if alone * self.admit_fraction > time_left:
            raise TooMuchWorkError(
                f"this request needs about {alone:.0f} s of model time on this server, "
                f"more than the {time_left:.0f} s it may take",
                needed_s=alone,
            )
        if not self._waiting:
            return  # nothing ahead: the request gets its chance
        expected = self.expected_wait_s(pending.remaining_tokens)
        assert expected is not None  # the speed is known (checked above)
        allowed = time_left * self.admit_fraction
        if expected > allowed:
            raise QueueFullError(
                f"the model is busy: this request would wait about {expected:.1f} s of model time, "
                f"longer than its {allowed:.1f} s to spare before the request timeout",
                reason="overloaded",
                retry_after_s=max(1.0, expected - allowed),
            )

    # -- the worker -----------------------------------------------------------------
    async def _next_live(self, timeout: float | None) -> _Pending | None:
        """The next queued request whose caller is still waiting, or None on timeout."""
        assert self._queue is not None
        while True:
            if timeout is None:
                item = await self._queue.get()
            elif timeout <= 0:
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

    async def _admit(self) -> None:
        """Move queued requests into the turn order: wait for the first (and ``max_wait_ms`` for company) when idle."""
        if not self._active:
            first = await self._next_live(None)
            assert first is not None
            self._cycle_start = time.perf_counter()  # idle until now: that time is not the model's
            self._active.append(first)
            documents, tokens = first.remaining, first.remaining_tokens
            deadline = time.perf_counter() + self.max_wait_s
            while documents < self.max_batch_size and tokens < self._token_budget:
                item = await self._next_live(deadline - time.perf_counter())
                if item is None:
                    break
                self._active.append(item)
                documents += item.remaining
                tokens += item.remaining_tokens
        else:
            # Work is waiting already: take in new arrivals without waiting, so they get a turn now.
            while (item := await self._next_live(0)) is not None:
                self._active.append(item)

    def _slices(self) -> list[tuple[_Pending, int, int]]:
        """This batch: a slice of each request in turn order, within the document and token budgets."""
        now = time.perf_counter()
        # Checked again: admitting waited up to max_wait_ms, and callers may have left since.
        self._active = deque(p for p in self._active if not p.withdrawn(now))
        documents_left = self.max_batch_size
        tokens_left = self._token_budget
        slices: list[tuple[_Pending, int, int]] = []
        for pending in self._active:
            start = stop = len(pending.scores)
            # What is left of this request's turn (a turn is one batch's worth, see _next_turn_order).
            turn_documents_left = self.max_batch_size - pending.turn_documents
            turn_tokens_left = self._token_budget - pending.turn_tokens
            batch_full = False
            while stop < len(pending.texts):
                if documents_left <= 0:
                    batch_full = True
                    break
                if stop - start >= turn_documents_left:
                    break
                cost = pending.tokens[stop]
                # A document above the whole budget still gets a batch: its own.
                if slices or stop > start:
                    if cost > tokens_left:
                        batch_full = True
                        break
                    if cost > turn_tokens_left:
                        break
                tokens_left -= cost
                turn_tokens_left -= cost
                documents_left -= 1
                stop += 1
            if stop > start or not pending.texts:  # an empty request is answered by an empty slice
                slices.append((pending, start, stop))
            if batch_full or documents_left <= 0 or tokens_left <= 0:
                break
        return slices

    async def _work(self) -> None:
        while True:
            await self._admit()
            slices = self._slices()
            if not slices:
                continue
            self._busy = True
            try:
                await self._run_batch(slices)
            finally:
                self._busy = False
            self._active = self._next_turn_order(slices)

    def _next_turn_order(self, slices: list[tuple[_Pending, int, int]]) -> deque[_Pending]:
        """The unfinished requests in the order the next batch serves them.

        A request's turn lasts up to one batch's worth of work (``max_batch_size``
        documents or ``max_batch_tokens`` tokens). One whose turn is used up goes to the
        back of the line, behind those that waited; one cut off by the end of the batch
        before its turn was used up (a small request that did not quite fit) keeps its
        place and finishes first in the next batch: sent to the back, it would wait a
        whole round again, which under load doubled its latency past the timeout.
        """
        for pending, start, stop in slices:
            pending.turn_documents += stop - start
            pending.turn_tokens += sum(pending.tokens[start:stop])
        unfinished = [p for p in self._active if p.remaining and not p.future.done()]
        used_up = [
            p
            for p in unfinished
            if p.turn_documents >= self.max_batch_size or p.turn_tokens >= self._token_budget
        ]
        for pending in used_up:
            pending.turn_documents = pending.turn_tokens = 0
        return deque([p for p in unfinished if p not in used_up] + used_up)

    async def _run_batch(self, slices: list[tuple[_Pending, int, int]]) -> None:
        started = time.perf_counter()
        failed = False
        try:
            results = await self.scorer.ascore_many([(p.query, p.texts[a:b]) for p, a, b in slices])
        except asyncio.CancelledError:
            self._fail([p for p, _, _ in slices], BatcherClosedError("the server is shutting down"))
            raise
        except Exception:  # one bad group must not fail the others: score them one by one
            failed = True
            log.exception("batch of %d requests failed; scoring them one by one", len(slices))
            delivered = await self._score_alone(slices)
        else:
            delivered = sum(self._record(pending, scores) for (pending, _, _), scores in zip(slices, results))
            # Timed over the whole cycle, not the model call alone: under load the event loop
            # takes a while to come back to the worker between batches, and a wait estimated
            # from model time alone admitted requests that then timed out.
            ended = time.perf_counter()
            self._measure(sum(sum(p.tokens[a:b]) for p, a, b in slices), ended - self._cycle_start)
            self._cycle_start = ended
        if self._on_batch is not None:
            documents = sum(b - a for _, a, b in slices)
            requests = len({id(p) for p, _, _ in slices})
            self._on_batch(BatchStats(requests, documents, time.perf_counter() - started, failed, delivered))

    async def _score_alone(self, slices: list[tuple[_Pending, int, int]]) -> int:
        """Score each request's slice on its own; the number of documents delivered."""
        delivered = 0
        for pending, start, stop in slices:
            if pending.withdrawn(time.perf_counter()):
                continue
            try:
                scores = (await self.scorer.ascore_many([(pending.query, pending.texts[start:stop])]))[0]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                if not pending.future.done():
                    pending.future.set_exception(exc)
            else:
                delivered += self._record(pending, scores)
        return delivered

    def _measure(self, tokens: int, seconds: float) -> None:
        """Fold one batch into the smoothed model speed that admission control uses."""
        if tokens <= 0 or seconds <= 0:
            return
        speed = tokens / seconds
        # Smoothed so that one slow batch (a first call, a noisy neighbour) does not swing it.
        self._tokens_per_s = speed if self._tokens_per_s is None else 0.7 * self._tokens_per_s + 0.3 * speed

    def _record(self, pending: _Pending, scores: list[Score]) -> int:
        """Keep a slice's scores; hand the whole list over once complete. The documents delivered."""
        pending.scores.extend(scores)
        return 0 if pending.remaining else self._deliver(pending, pending.scores)

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
        waiting: list[_Pending] = list(self._active)
        self._active.clear()
        while self._queue is not None and not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        self._fail(waiting, exc)
