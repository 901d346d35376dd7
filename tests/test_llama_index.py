"""CrossRankPostprocessor inside real LlamaIndex objects: VectorStoreIndex, query engines, events."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Settings, VectorStoreIndex
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from small_corpus import CORPUS

from crossrank import Verdict
from crossrank.llama_index import CrossRankPostprocessor


@pytest.fixture(scope="module", autouse=True)
def no_llm():
    """LlamaIndex's documented switch for "no LLM": response_mode="no_text" never generates."""
    Settings.llm = None
    yield


@pytest.fixture(scope="module")
def index(base_model_dir):
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed = HuggingFaceEmbedding(model_name=base_model_dir, device="cpu")
    nodes = [TextNode(text=t, metadata={"source": s}, id_=f"node-{i}") for i, (t, s) in enumerate(CORPUS)]
    return VectorStoreIndex(nodes, embed_model=embed)


@pytest.fixture(scope="module")
def postprocessor(scorer):
    return CrossRankPostprocessor(scorer=scorer, top_n=2, min_probability=0.5)


def test_in_a_query_engine(index, postprocessor):
    engine = index.as_query_engine(
        similarity_top_k=5, node_postprocessors=[postprocessor], response_mode="no_text"
    )
    response = engine.query("What food do giant pandas live on?")
    assert [n.node.metadata["source"] for n in response.source_nodes] == ["animals/pandas.md"]
    best = response.source_nodes[0]
    assert type(best.score) is float and best.score > 0.5
    assert isinstance(best.node.metadata["retrieval_score"], float)
    assert best.node.node_id == "node-1"


async def test_async_query_engine(index, postprocessor):
    engine = index.as_query_engine(
        similarity_top_k=5, node_postprocessors=[postprocessor], response_mode="no_text"
    )
    response = await engine.aquery("Which language do people speak in Brazil?")
    assert [n.node.metadata["source"] for n in response.source_nodes] == ["travel/brazil.md"]


def test_retriever_then_postprocessor(index, postprocessor):
    retriever = index.as_retriever(similarity_top_k=5)
    query = QueryBundle("How do bees make honey?")
    nodes = retriever.retrieve(query)
    before = copy.deepcopy(nodes)
    out = postprocessor.postprocess_with_result(nodes, query)
    assert [n.score for n in nodes] == [n.score for n in before]
    assert [n.node.metadata for n in nodes] == [n.node.metadata for n in before]
    assert out.verdict is Verdict.RELEVANT
    assert out.nodes[0].node.metadata["source"] == "animals/bees.md"
    assert len(out.nodes) + len(out.dropped) == len(nodes)
    # Rerank fields never leak into what the LLM reads.
    assert "relevance_score" not in out.nodes[0].node.get_content(metadata_mode="llm")


def test_unrelated_question_gives_verdict_none(index, postprocessor):
    nodes = index.as_retriever(similarity_top_k=5).retrieve("Distance to the Andromeda galaxy?")
    out = postprocessor.postprocess_with_result(nodes, query_str="Distance to the Andromeda galaxy?")
    assert out.verdict is Verdict.NONE and out.nodes == [] and len(out.dropped) == len(nodes)


def test_emits_rerank_events(postprocessor):
    seen: list[str] = []

    class Recorder(BaseEventHandler):
        @classmethod
        def class_name(cls) -> str:
            return "Recorder"

        def handle(self, event, **kwargs) -> None:
            seen.append(event.class_name())

    root = get_dispatcher()
    handler = Recorder()
    root.add_event_handler(handler)
    try:
        postprocessor.postprocess_nodes([NodeWithScore(node=TextNode(text="Bamboo."), score=1.0)], query_str="Pandas?")
    finally:
        root.event_handlers.remove(handler)
    assert "ReRankStartEvent" in seen and "ReRankEndEvent" in seen


def test_bad_input_and_settings(postprocessor, scorer):
    assert postprocessor.postprocess_nodes([], query_str="q") == []
    with pytest.raises(ValueError, match="query"):
        postprocessor.postprocess_nodes([NodeWithScore(node=TextNode(text="a"))])
    with pytest.raises(TypeError, match=r"nodes\[0\]"):
        postprocessor.postprocess_nodes(["text"], query_str="q")  # type: ignore[list-item]
    with pytest.raises(ValueError):
        CrossRankPostprocessor(scorer=scorer, top_n=0)
    with pytest.raises(ValueError):
        CrossRankPostprocessor(scorer=scorer, min_relative=-0.5)
    assert CrossRankPostprocessor.class_name() == "CrossRankPostprocessor"
    node = [NodeWithScore(node=TextNode(text="a"))]
    # Both query forms at once is refused, as LlamaIndex's own postprocess_nodes does.
    with pytest.raises(ValueError, match="both query_str and query_bundle"):
        postprocessor.postprocess_with_result(node, QueryBundle("q1"), query_str="q2")


def test_model_name_shares_the_loaded_model(tiny_model_dir):
    from crossrank.backends import load_backend

    backend = CrossRankPostprocessor(model=tiny_model_dir).scorer.backend
    assert backend is load_backend(tiny_model_dir) and backend.name == "onnx"  # auto, on this CPU


