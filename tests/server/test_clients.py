"""Existing rerank clients work unchanged: the official Cohere Python SDK (v1 and v2) against the server.

Skipped when the ``cohere`` package is not installed.
"""

from __future__ import annotations

import math

import pytest
from server_helpers import RunningServer, run_server, updated, wait_ready
from tiny_model import QA

from crossrank.server import ServerSettings

cohere = pytest.importorskip("cohere")

QUERY, ON_TOPIC, OFF_TOPIC = QA[0]


def test_cohere_v1_client(server: RunningServer, scorer) -> None:
    client = cohere.Client(api_key="unused", base_url=server.url)
    response = client.rerank(
        model="rerank-english-v3.0",
        query=QUERY,
        documents=[OFF_TOPIC, ON_TOPIC],
        top_n=2,
        return_documents=True,
    )
    expected = scorer.score(QUERY, [OFF_TOPIC, ON_TOPIC])
    assert [r.index for r in response.results] == [1, 0]
    assert response.results[0].document.text == ON_TOPIC
    assert math.isclose(response.results[0].relevance_score, expected[1].probability, abs_tol=1e-4)


def test_cohere_v2_client_with_api_key(server_settings: ServerSettings, scorer) -> None:
    with run_server(updated(server_settings, api_key="s3cret")) as running:
        wait_ready(running.url)
        client = cohere.ClientV2(api_key="s3cret", base_url=running.url)
        response = client.rerank(model="rerank-v3.5", query=QUERY, documents=[OFF_TOPIC, ON_TOPIC], top_n=1)
        assert [r.index for r in response.results] == [1]
        refused = cohere.ClientV2(api_key="wrong", base_url=running.url)
        with pytest.raises(cohere.errors.UnauthorizedError):
            refused.rerank(model="rerank-v3.5", query=QUERY, documents=[ON_TOPIC])


def test_cohere_v2_client_with_priority_and_relevant_spans(server: RunningServer, scorer) -> None:
    # Both are Cohere v2 request fields: accepted and ignored (docs/server.md), never a 422.
    client = cohere.ClientV2(api_key="unused", base_url=server.url)
    spans = {"mode": "enabled", "threshold": 0.2, "max_spans": 2}
    if hasattr(cohere, "RerankRelevantSpans"):  # cohere >= 7 has the argument
        extra: dict = {"relevant_spans": cohere.RerankRelevantSpans(**spans)}
    else:  # cohere 5.x (what langchain-cohere allows) sends it as an extra body field
        extra = {"request_options": {"additional_body_parameters": {"relevant_spans": spans}}}
    response = client.rerank(
        model="rerank-v3.5", query=QUERY, documents=[OFF_TOPIC, ON_TOPIC], priority=3, **extra
    )
    expected = scorer.score(QUERY, [OFF_TOPIC, ON_TOPIC])
    assert [r.index for r in response.results] == [1, 0]
    assert math.isclose(response.results[0].relevance_score, expected[1].probability, abs_tol=1e-4)
