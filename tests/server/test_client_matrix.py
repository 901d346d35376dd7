"""The client matrix: framework rerankers people already use, pointed at ``crossrank serve``.

Each test builds the real third-party client with its normal base-URL setting, sends
the same three documents to a live server and checks the order, the indices and the
scores against the in-process scorer. Every client is one ``importorskip``: the
``clients`` extra installs them all (``pip install 'crossrank[clients]'``, part of
``all``, so CI runs the whole matrix); docs/server.md lists exactly these.
"""

from __future__ import annotations

import importlib
import math
import os

import pytest
from server_helpers import RunningServer
from tiny_model import QA

QUERY, ON_TOPIC, OFF_TOPIC = QA[0]
# A second off-topic passage, so the order of the two losers is checked too.
DOCUMENTS = [OFF_TOPIC, ON_TOPIC, QA[1][1]]
# The modules the tests below import: docs/server.md's client table.
MATRIX = [
    "cohere",
    "langchain_cohere",
    "llama_index.postprocessor.cohere_rerank",
    "llama_index.postprocessor.tei_rerank",
    "llama_index.postprocessor.jinaai_rerank",
    "haystack_integrations.components.rankers.cohere",
]


@pytest.fixture
def expected(scorer) -> list[tuple[int, float]]:
    """(index, probability) best first, from the scorer the server runs."""
    scores = scorer.score(QUERY, DOCUMENTS)
    order = sorted(range(len(DOCUMENTS)), key=lambda i: -scores[i].logit)
    return [(i, scores[i].probability) for i in order]


def _same(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in expected]
    for (_, score), (_, want) in zip(got, expected, strict=True):
        assert math.isclose(score, want, abs_tol=1e-4), (got, expected)


def test_langchain_cohere_rerank(server: RunningServer, expected) -> None:
    langchain_cohere = pytest.importorskip("langchain_cohere")
    from langchain_core.documents import Document

    reranker = langchain_cohere.CohereRerank(
        base_url=server.url, cohere_api_key="unused", model="rerank-v3.5", top_n=3
    )
    docs = [Document(page_content=text, metadata={"position": n}) for n, text in enumerate(DOCUMENTS)]
    kept = reranker.compress_documents(docs, QUERY)
    _same([(d.metadata["position"], d.metadata["relevance_score"]) for d in kept], expected)


def test_llama_index_cohere_rerank(server: RunningServer, expected) -> None:
    module = pytest.importorskip("llama_index.postprocessor.cohere_rerank")
    from llama_index.core.schema import NodeWithScore, TextNode

    reranker = module.CohereRerank(api_key="unused", base_url=server.url, model="rerank-v3.5", top_n=3)
    nodes = [NodeWithScore(node=TextNode(text=text, id_=str(n))) for n, text in enumerate(DOCUMENTS)]
    kept = reranker.postprocess_nodes(nodes, query_str=QUERY)
    _same([(int(n.node.id_), float(n.score or 0.0)) for n in kept], expected)


def test_llama_index_tei_rerank(server: RunningServer, expected) -> None:
    module = pytest.importorskip("llama_index.postprocessor.tei_rerank")
    from llama_index.core.schema import NodeWithScore, TextNode

    reranker = module.TextEmbeddingInference(base_url=server.url, top_n=3)
    nodes = [NodeWithScore(node=TextNode(text=text, id_=str(n))) for n, text in enumerate(DOCUMENTS)]
    kept = reranker.postprocess_nodes(nodes, query_str=QUERY)
    _same([(int(n.node.id_), float(n.score or 0.0)) for n in kept], expected)


def test_llama_index_jina_rerank(server: RunningServer, expected) -> None:
    # Jina's rerank request is Cohere's shape; its base URL ends in /v1 like Jina's own.
    module = pytest.importorskip("llama_index.postprocessor.jinaai_rerank")
    from llama_index.core.schema import NodeWithScore, TextNode

    reranker = module.JinaRerank(api_key="unused", base_url=f"{server.url}/v1", top_n=3)
    nodes = [NodeWithScore(node=TextNode(text=text, id_=str(n))) for n, text in enumerate(DOCUMENTS)]
    kept = reranker.postprocess_nodes(nodes, query_str=QUERY)
    _same([(int(n.node.id_), float(n.score or 0.0)) for n in kept], expected)


def test_haystack_cohere_ranker(server: RunningServer, expected, monkeypatch: pytest.MonkeyPatch) -> None:
    # Haystack reports usage to a telemetry service unless told not to (and there is no network here).
    monkeypatch.setenv("HAYSTACK_TELEMETRY_ENABLED", "False")
    module = pytest.importorskip("haystack_integrations.components.rankers.cohere")
    from haystack import Document
    from haystack.utils import Secret

    ranker = module.CohereRanker(
        model="rerank-v3.5", top_k=3, api_key=Secret.from_token("unused"), api_base_url=server.url
    )
    docs = [Document(content=text, id=str(n)) for n, text in enumerate(DOCUMENTS)]
    kept = ranker.run(query=QUERY, documents=docs)["documents"]
    _same([(int(d.id), float(d.score or 0.0)) for d in kept], expected)


async def test_cohere_async_client(server: RunningServer, expected) -> None:
    cohere = pytest.importorskip("cohere")
    client = cohere.AsyncClientV2(api_key="unused", base_url=server.url)
    response = await client.rerank(model="rerank-v3.5", query=QUERY, documents=DOCUMENTS, top_n=3)
    _same([(r.index, r.relevance_score) for r in response.results], expected)


def test_the_matrix_is_installed_where_ci_runs() -> None:
    # CI installs the clients extra: a client that silently stopped installing would turn
    # its test into a skip, so .ci/run sets CROSSRANK_CLIENT_MATRIX=required and every one must import.
    if os.environ.get("CROSSRANK_CLIENT_MATRIX") != "required":
        pytest.skip("enforced where CROSSRANK_CLIENT_MATRIX=required (.ci/run sets it)")
    missing = []
    for module in MATRIX:
        try:
            importlib.import_module(module)
        except ImportError as error:
            missing.append(f"{module}: {error}")
    assert not missing, missing
