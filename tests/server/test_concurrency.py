"""Many concurrent clients against one real server: every answer correct, no errors, batches shared.

Throughput is measured by bench/server_throughput.py, not asserted here.
"""

from __future__ import annotations

import asyncio
import math
import random

import httpx
from server_helpers import RunningServer
from tiny_model import QA

CLIENTS = 12
REQUESTS_PER_CLIENT = 3


def _requests(seed: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    passages = [p for _, pos, neg in QA for p in (pos, neg)]
    out = []
    for _ in range(REQUESTS_PER_CLIENT):
        query = rng.choice(QA)[0]
        out.append((query, rng.sample(passages, rng.randint(1, 8))))
    return out


async def test_concurrent_clients_get_the_scorers_answers(server: RunningServer, scorer) -> None:
    plans = [_requests(seed) for seed in range(CLIENTS)]
    batches_before = server.metric("crossrank_batch_requests_count")

    async def one_client(
        plan: list[tuple[str, list[str]]], use_tei: bool
    ) -> list[list[tuple[int, float, float]]]:
        answers = []
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            for query, texts in plan:
                if use_tei:
                    response = await http.post(
                        "/rerank", json={"query": query, "texts": texts, "raw_scores": True}
                    )
                    assert response.status_code == 200, response.text
                    answers.append([(r["index"], r["score"], math.nan) for r in response.json()])
                else:
                    response = await http.post("/v1/rerank", json={"query": query, "documents": texts})
                    assert response.status_code == 200, response.text
                    answers.append(
                        [(r["index"], r["relevance_logit"], r["relevance_score"]) for r in response.json()["results"]]
                    )
        return answers

    results = await asyncio.wait_for(
        asyncio.gather(*(one_client(plan, use_tei=c % 2 == 1) for c, plan in enumerate(plans))), timeout=240
    )

    for plan, answers in zip(plans, results):
        for (query, texts), answer in zip(plan, answers):
            expected = scorer.score(query, texts)
            assert sorted(i for i, _, _ in answer) == list(range(len(texts)))  # nothing lost, nothing doubled
            for index, logit, probability in answer:
                assert math.isclose(logit, expected[index].logit, abs_tol=1e-3)
                if not math.isnan(probability):
                    assert math.isclose(probability, expected[index].probability, abs_tol=1e-4)
            logits = [logit for _, logit, _ in answer]
            assert logits == sorted(logits, reverse=True)

    total = CLIENTS * REQUESTS_PER_CLIENT
    batches = server.metric("crossrank_batch_requests_count") - batches_before
    assert server.metric("crossrank_batch_requests_sum") >= total
    assert batches < total, "concurrent requests were never merged into a shared batch"
    assert server.metric("crossrank_http_requests_total", status="500") == 0
