"""The dynamic batcher over the real scorer: merging, routing, failure isolation, cancellation, backpressure."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from tiny_model import QA

from crossrank.server.batcher import (
    BatcherClosedError,
    BatchStats,
    DeadlineExceededError,
    DynamicBatcher,
    QueueFullError,
    TooMuchWorkError,
    estimated_tokens,
)

GROUPS = [(q, [pos, neg]) for q, pos, neg in QA[:8]]


def _close(a, b) -> bool:
    return all(math.isclose(x.logit, y.logit, abs_tol=1e-3) for x, y in zip(a, b)) and len(a) == len(b)


async def test_concurrent_requests_share_batches_and_get_their_own_scores(scorer) -> None:
    stats: list[BatchStats] = []
    batcher = DynamicBatcher(scorer, max_batch_size=64, max_wait_ms=50, on_batch=stats.append)
    await batcher.start()
    try:
        results = await asyncio.gather(*(batcher.submit(q, texts) for q, texts in GROUPS))
    finally:
        await batcher.stop()
    expected = scorer.score_many(GROUPS)
    assert all(_close(got, want) for got, want in zip(results, expected))
    assert sum(s.requests for s in stats) == len(GROUPS)
    assert len(stats) < len(GROUPS), f"no request was merged: {stats}"


async def test_batches_respect_max_batch_size(scorer) -> None:
    stats: list[BatchStats] = []
    batcher = DynamicBatcher(scorer, max_batch_size=4, max_wait_ms=50, on_batch=stats.append)
    await batcher.start()
    try:
        big = [f"{'word ' * n}password reset" for n in range(9)]  # bigger than a batch: scored in slices
        results = await asyncio.gather(
            *(batcher.submit(q, texts) for q, texts in GROUPS), batcher.submit("q?", big)
        )
    finally:
        await batcher.stop()
    assert len(results[-1]) == 9
    assert _close(results[-1], scorer.score("q?", big))  # slices join up in input order
    assert all(s.documents <= 4 for s in stats), stats
    assert sum(s.documents for s in stats) == 9 + sum(len(t) for _, t in GROUPS)


async def test_batches_respect_the_token_budget(scorer) -> None:
    # Long passages fill the token budget long before the document budget: each batch
    # holds what fits (a passage above the budget on its own), and nothing is lost.
    stats: list[BatchStats] = []
    batcher = DynamicBatcher(
        scorer, max_batch_size=64, max_batch_tokens=200, max_wait_ms=50, on_batch=stats.append
    )
    await batcher.start()
    long = [f"{'password reset steps ' * 8}{n}" for n in range(10)]  # about 45 tokens each
    huge = "password " * 120  # about 270 tokens: above the whole budget
    try:
        results = await asyncio.gather(batcher.submit("q?", long), batcher.submit("reset?", [huge, "short"]))
    finally:
        await batcher.stop()
    assert _close(results[0], scorer.score("q?", long)) and _close(
        results[1], scorer.score("reset?", [huge, "short"])
    )
    assert sum(s.documents for s in stats) == 12
    per_document = estimated_tokens("q?", long[0])
    assert per_document * 4 <= 200 < per_document * 5  # so four long passages fit a batch
    assert max(s.documents for s in stats) <= 4, stats
    assert len(stats) >= 4, stats  # 10 long passages need three batches, the huge one its own


def test_the_token_estimate_grows_with_the_text() -> None:
    assert (
        estimated_tokens("q", "") < estimated_tokens("q", "word " * 10) < estimated_tokens("q", "word " * 100)
    )
    assert estimated_tokens("q", "word " * 100) == 3 + 1 + 125


async def test_a_big_request_takes_turns_with_small_ones(scorer) -> None:
    # One request of 60 documents and, right after it, three small ones: with slices of 4
    # documents the small ones are answered after a few slices, not after the whole big one.
    finished: list[str] = []
    batcher = DynamicBatcher(scorer, max_batch_size=4, max_wait_ms=1)
    await batcher.start()

    async def ask(name: str, query: str, texts: list[str]) -> None:
        await batcher.submit(query, texts)
        finished.append(name)

    try:
        big = asyncio.ensure_future(ask("big", "q?", [f"{'word ' * (n % 7)}password" for n in range(60)]))
        await asyncio.sleep(0)  # the big one is queued first
        await asyncio.gather(big, *(ask(f"small-{i}", q, texts) for i, (q, texts) in enumerate(GROUPS[:3])))
    finally:
        await batcher.stop()
    assert finished[-1] == "big", finished
    assert set(finished[:3]) == {"small-0", "small-1", "small-2"}


async def test_a_small_request_cut_off_by_the_end_of_a_batch_finishes_next(scorer) -> None:
    # Four requests of 3 documents, batches of 4: the first batch is A and one document of B.
    # B has not used up its turn (a batch's worth), so it finishes first in the next batch
    # instead of waiting behind C and D (under load that wait was a whole round).
    finished: list[str] = []
    sizes: list[int] = []
    batcher = DynamicBatcher(
        scorer, max_batch_size=4, max_wait_ms=200, on_batch=lambda stats: sizes.append(stats.documents)
    )
    await batcher.start()

    async def ask(name: str) -> None:
        await batcher.submit(f"{name}?", [f"{name} passage {i} about passwords" for i in range(3)])
        finished.append(name)

    try:
        await asyncio.gather(*(ask(name) for name in "ABCD"))
    finally:
        await batcher.stop()
    assert sizes == [4, 4, 4], sizes
    assert finished == ["A", "B", "C", "D"], finished


async def test_begin_shutdown_answers_the_rest_with_closed_instead_of_scoring_them(scorer) -> None:
    stats: list[BatchStats] = []
    batcher = DynamicBatcher(scorer, max_batch_size=2, max_wait_ms=1, on_batch=stats.append)
    await batcher.start()
    try:
        pending = asyncio.ensure_future(
            batcher.submit("q?", [f"{'word ' * 40}password {n}" for n in range(400)])
        )
        while not stats:  # scoring has started
            await asyncio.sleep(0.005)
        batcher.begin_shutdown(0.0)
        with pytest.raises(BatcherClosedError, match="shutting down"):
            await pending
        with pytest.raises(BatcherClosedError):
            await batcher.submit("late?", ["too late"])
    finally:
        await batcher.stop(timeout=5)
    # The model stopped at a slice boundary: far from all 400 documents were scored.
    assert sum(s.documents for s in stats) < 400, stats


async def test_a_failing_request_does_not_fail_the_others(scorer) -> None:
    stats: list[BatchStats] = []
    batcher = DynamicBatcher(scorer, max_batch_size=64, max_wait_ms=100, on_batch=stats.append)
    await batcher.start()
    try:
        # A non-string text makes score_many raise for the whole batch; the batcher then
        # scores request by request, so only the bad request gets the error.
        outcomes = await asyncio.gather(
            batcher.submit(*GROUPS[0]),
            batcher.submit("q", ["fine", None]),
            batcher.submit(*GROUPS[1]),
            return_exceptions=True,
        )
    finally:
        await batcher.stop()
    assert _close(outcomes[0], scorer.score(*GROUPS[0]))
    assert _close(outcomes[2], scorer.score(*GROUPS[1]))
    assert isinstance(outcomes[1], TypeError) and "[1]" in str(outcomes[1])
    assert any(s.failed for s in stats)


async def test_cancelled_requests_are_not_scored(scorer) -> None:
    stats: list[BatchStats] = []
    batcher = DynamicBatcher(scorer, max_batch_size=64, max_wait_ms=200, on_batch=stats.append)
    await batcher.start()
    try:
        keep = asyncio.ensure_future(batcher.submit(*GROUPS[0]))
        drop = asyncio.ensure_future(batcher.submit("q", ["x"] * 7))
        await asyncio.sleep(0.02)  # both queued, batch still waiting for company
        drop.cancel()
        assert _close(await keep, scorer.score(*GROUPS[0]))
        with pytest.raises(asyncio.CancelledError):
            await drop
    finally:
        await batcher.stop()
    assert sum(s.documents for s in stats) == len(
        GROUPS[0][1]
    )  # the 7 cancelled documents never hit the model


async def test_requests_past_their_deadline_are_dropped_before_scoring(scorer) -> None:
    stats: list[BatchStats] = []
    # Admission control off: this is about requests admitted and then left behind by their deadline.
    batcher = DynamicBatcher(
        scorer, max_batch_size=4, max_wait_ms=0, admit_fraction=None, on_batch=stats.append
    )
    await batcher.start()
    long_texts = [
        f"Passage {i}. " + "A long passage about resetting passwords by email. " * 25 for i in range(40)
    ]
    try:
        started = time.perf_counter()
        busy = asyncio.ensure_future(batcher.submit("q?", long_texts))  # scored alone, takes a while
        await asyncio.sleep(0)
        # Their deadline passes while the first batch runs; nobody cancels them, as when the
        # event loop is too busy to run the callers' own timeouts in time.
        late = [
            asyncio.ensure_future(batcher.submit(q, texts, deadline=time.perf_counter() + 0.01))
            for q, texts in GROUPS[:4]
        ]
        on_time = asyncio.ensure_future(batcher.submit(*GROUPS[4], deadline=time.perf_counter() + 600))
        assert len(await busy) == len(long_texts)
        busy_s = time.perf_counter() - started
        outcomes = await asyncio.gather(*late, return_exceptions=True)
        assert _close(await on_time, scorer.score(*GROUPS[4]))
    finally:
        await batcher.stop()
    assert busy_s > 0.01 * 10, f"the first batch took {busy_s:.3f} s: too short to test deadlines"
    assert all(isinstance(o, DeadlineExceededError) for o in outcomes), outcomes
    assert sum(s.documents for s in stats) == len(long_texts) + len(
        GROUPS[4][1]
    )  # the late ones never scored
    assert sum(s.delivered for s in stats) == sum(s.documents for s in stats)


async def test_a_request_that_would_miss_its_deadline_is_refused_at_once(scorer) -> None:
    stats: list[BatchStats] = []
    batcher = DynamicBatcher(scorer, max_batch_size=4, max_wait_ms=0, on_batch=stats.append)
    await batcher.warm_up()  # measures the model's speed, as the server does before it is ready
    await batcher.start()
    long_texts = [
        f"Passage {i}. " + "A long passage about resetting passwords by email. " * 25 for i in range(80)
    ]
    big_tokens = sum(estimated_tokens("q?", t) for t in long_texts)
    small_query, small_texts = GROUPS[0]
    try:
        busy = asyncio.ensure_future(batcher.submit("q?", long_texts))
        await asyncio.sleep(0)  # queued: the work ahead of what follows
        both_big_s = batcher.expected_wait_s(big_tokens)  # the same again, sharing the model with it
        assert both_big_s is not None
        with pytest.raises(QueueFullError) as refused:
            await batcher.submit("another?", long_texts, deadline=time.perf_counter() + both_big_s)
        # Requests take turns, so a small one waits for a slice of the big one, not all of it:
        # it is admitted with a deadline well short of the big one's own work.
        small = await batcher.submit(
            small_query, small_texts, deadline=time.perf_counter() + 0.3 * both_big_s
        )
        await busy
    finally:
        await batcher.stop()
    assert refused.value.reason == "overloaded" and refused.value.retry_after_s >= 1
    assert "would wait about" in str(refused.value)
    assert _close(small, scorer.score(small_query, small_texts))
    # The refused request never reached the model (the warm-up batch is not reported).
    assert sum(s.documents for s in stats) == len(long_texts) + len(small_texts), stats


async def test_a_request_too_big_for_its_deadline_is_refused_even_on_an_idle_batcher(scorer) -> None:
    batcher = DynamicBatcher(scorer, max_batch_size=4, max_wait_ms=0)
    await batcher.warm_up()
    await batcher.start()
    texts = [f"Passage {i}. " + "A long passage about resetting passwords by email. " * 25 for i in range(40)]
    alone_s = batcher.expected_wait_s(sum(estimated_tokens("q?", t) for t in texts))
    assert alone_s is not None
    try:
        with pytest.raises(TooMuchWorkError) as refused:
            await batcher.submit("q?", texts, deadline=time.perf_counter() + 0.5 * alone_s)
        # With room for its own work it is scored, on the same idle batcher.
        scores = await batcher.submit("q?", texts, deadline=time.perf_counter() + 10 * alone_s + 60)
    finally:
        await batcher.stop()
    assert "needs about" in str(refused.value) and refused.value.needed_s == pytest.approx(alone_s, rel=0.5)
    assert len(scores) == len(texts)


async def test_full_queue_and_closed_batcher_refuse(scorer) -> None:
    batcher = DynamicBatcher(scorer, max_batch_size=1, max_wait_ms=0, max_queue=1)
    with pytest.raises(BatcherClosedError):
        await batcher.submit("q", ["a"])
    await batcher.start()
    try:
        outcomes = await asyncio.gather(
            *(batcher.submit("q", ["some text " * 50]) for _ in range(6)), return_exceptions=True
        )
    finally:
        await batcher.stop()
    assert any(isinstance(o, QueueFullError) for o in outcomes)
    assert any(isinstance(o, list) for o in outcomes)
    with pytest.raises(BatcherClosedError):
        await batcher.submit("q", ["a"])


async def test_stop_drains_queued_requests(scorer) -> None:
    batcher = DynamicBatcher(scorer, max_batch_size=2, max_wait_ms=0)
    await batcher.start()
    pending = [asyncio.ensure_future(batcher.submit(q, texts)) for q, texts in GROUPS]
    await asyncio.sleep(0)
    await batcher.stop(drain=True)
    results = await asyncio.gather(*pending)  # every queued request was scored before the stop
    assert all(_close(got, want) for got, want in zip(results, scorer.score_many(GROUPS)))


def test_bad_settings_are_refused(scorer) -> None:
    with pytest.raises(ValueError, match="max_batch_size"):
        DynamicBatcher(scorer, max_batch_size=0)
    with pytest.raises(ValueError, match="max_batch_tokens"):
        DynamicBatcher(scorer, max_batch_tokens=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        DynamicBatcher(scorer, max_wait_ms=-1)
