"""CrossRankReranker and CrossRankCrossEncoder inside real LangChain objects: retrievers,
compressor pipelines, LCEL chains, LangChain's own CrossEncoderReranker."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_classic")

from langchain_core.documents import Document
from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnablePassthrough
from small_corpus import CORPUS

from crossrank import Verdict
from crossrank.langchain import CrossRankCrossEncoder, CrossRankReranker


@pytest.fixture(scope="module")
def embeddings(base_model_dir):
    from langchain_community.embeddings import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=base_model_dir)


@pytest.fixture(scope="module")
def vector_retriever(embeddings):
    from langchain_core.vectorstores import InMemoryVectorStore

    store = InMemoryVectorStore(embeddings)
    store.add_documents(
        [Document(page_content=t, metadata={"source": s}, id=f"doc-{i}") for i, (t, s) in enumerate(CORPUS)]
    )
    return store.as_retriever(search_kwargs={"k": 5})


@pytest.fixture(scope="module")
def reranker(scorer):
    return CrossRankReranker(scorer=scorer, top_n=2, min_probability=0.5)


def test_inside_contextual_compression_retriever(vector_retriever, reranker):
    from langchain_classic.retrievers import ContextualCompressionRetriever

    retriever = ContextualCompressionRetriever(base_compressor=reranker, base_retriever=vector_retriever)
    docs = retriever.invoke("What food do giant pandas live on?")
    assert [d.metadata["source"] for d in docs] == ["animals/pandas.md"]
    best = docs[0]
    assert best.id == "doc-1"
    assert type(best.metadata["relevance_score"]) is float and best.metadata["relevance_score"] > 0.5
    assert best.metadata["rerank_rank"] == 1
    assert isinstance(best.metadata["retrieval_rank"], int)
    assert isinstance(best.metadata["relevance_logit"], float)


async def test_async_retriever_path(vector_retriever, reranker):
    from langchain_classic.retrievers import ContextualCompressionRetriever

    retriever = ContextualCompressionRetriever(base_compressor=reranker, base_retriever=vector_retriever)
    docs = await retriever.ainvoke("Which language do people speak in Brazil?")
    assert [d.metadata["source"] for d in docs] == ["travel/brazil.md"]


def test_unrelated_question_returns_nothing_through_the_retriever(vector_retriever, reranker):
    from langchain_classic.retrievers import ContextualCompressionRetriever

    retriever = ContextualCompressionRetriever(base_compressor=reranker, base_retriever=vector_retriever)
    assert retriever.invoke("What is the distance to the Andromeda galaxy?") == []


def test_inside_document_compressor_pipeline(embeddings, vector_retriever, reranker):
    from langchain_classic.retrievers.document_compressors import DocumentCompressorPipeline
    from langchain_community.document_transformers import EmbeddingsRedundantFilter

    pipeline = DocumentCompressorPipeline(
        transformers=[EmbeddingsRedundantFilter(embeddings=embeddings), reranker]
    )
    docs = pipeline.compress_documents(
        vector_retriever.invoke("How tall is the Eiffel Tower?"), "How tall is the Eiffel Tower?"
    )
    assert docs[0].metadata["source"] == "travel/paris.md"


def test_inputs_are_not_mutated_and_metadata_is_kept(reranker):
    docs = [
        Document(page_content=t, metadata={"source": s, "score": 0.1 * i}, id=f"id-{i}")
        for i, (t, s) in enumerate(CORPUS)
    ]
    before = copy.deepcopy(docs)
    out = reranker.rerank_documents(docs, "How can I recover a forgotten password?")
    assert docs == before
    kept = out.documents[0]
    assert kept is not docs[0]
    assert kept.id == "id-0" and kept.metadata["source"] == "help/password.md"
    assert kept.metadata["retrieval_score"] == 0.0 and kept.metadata["retrieval_rank"] == 1
    assert len(out.documents) + len(out.dropped) == len(docs)
    assert all("drop_reason" in d.metadata for d in out.dropped)


def test_lcel_chain_branches_on_the_verdict(vector_retriever, reranker):
    gate = reranker.as_runnable()
    answer = RunnableLambda(lambda x: f"ANSWER from {x['documents'][0].metadata['source']}")
    fallback = RunnableLambda(lambda x: f"NO RELEVANT DOCUMENTS (best {x['best_probability']:.2f})")
    chain = (
        {"query": RunnablePassthrough(), "documents": vector_retriever}
        | gate
        | RunnableBranch((lambda x: x["verdict"] == Verdict.RELEVANT.value, answer), fallback)
    )
    assert chain.invoke("How do bees make honey?") == "ANSWER from animals/bees.md"
    assert chain.invoke("What is the distance to the Andromeda galaxy?").startswith("NO RELEVANT DOCUMENTS")


async def test_runnable_async_path(vector_retriever, reranker):
    gate = reranker.as_runnable()
    docs = await vector_retriever.ainvoke("How do bees make honey?")
    out = await gate.ainvoke({"query": "How do bees make honey?", "documents": docs})
    assert out["verdict"] == "relevant" and out["documents"][0].metadata["source"] == "animals/bees.md"


def test_weak_verdict_keeps_flagged_documents(scorer):
    reranker = CrossRankReranker(scorer=scorer, top_n=2, min_probability=0.5, min_keep=1)
    out = reranker.rerank_documents(
        [Document(page_content=t) for t, _ in CORPUS], "Andromeda galaxy distance?"
    )
    assert out.verdict is Verdict.WEAK
    assert len(out.documents) == 1 and out.documents[0].metadata["passed_threshold"] is False


def test_empty_documents_give_empty_result(reranker):
    assert reranker.compress_documents([], "anything") == []


def test_bad_input_is_rejected_clearly(reranker, scorer):
    with pytest.raises(TypeError, match=r"documents\[1\]"):
        reranker.compress_documents([Document(page_content="a"), "not a document"], "q")  # type: ignore[list-item]
    with pytest.raises(ValueError, match="empty"):
        reranker.compress_documents([Document(page_content="a")], "  ")
    with pytest.raises(ValueError):
        CrossRankReranker(scorer=scorer, top_n=0)
    with pytest.raises(ValueError):
        CrossRankReranker(scorer=scorer, min_probability=1.5)
    with pytest.raises(ValueError, match="not both"):
        CrossRankReranker(scorer=scorer, model="x")


def test_model_name_uses_the_shared_instance(tiny_model_dir):
    from crossrank.backends import load_backend

    reranker = CrossRankReranker(model=tiny_model_dir)
    # The default engine (auto: int8 ONNX on this CPU), loaded once per process for everyone.
    assert reranker._scorer.backend is load_backend(tiny_model_dir)
    assert reranker._scorer.backend.name == "onnx"


# -- CrossRankCrossEncoder: LangChain's own CrossEncoderReranker over crossrank's scorer ----------


def test_langchain_cross_encoder_reranker_orders_like_crossrank(scorer):
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.cross_encoders import BaseCrossEncoder

    encoder = CrossRankCrossEncoder(scorer=scorer)
    assert isinstance(encoder, BaseCrossEncoder)
    docs = [
        Document(page_content=t, metadata={"source": s}, id=f"doc-{i}") for i, (t, s) in enumerate(CORPUS)
    ]
    before = copy.deepcopy(docs)
    query = "How can I recover a forgotten password?"

    out = CrossEncoderReranker(model=encoder, top_n=2).compress_documents(docs, query)

    assert docs == before
    ours = CrossRankReranker(scorer=scorer, top_n=2, min_probability=None).compress_documents(docs, query)
    assert [d.id for d in out] == [d.id for d in ours]
    probabilities = [s.probability for s in scorer.score(query, [d.page_content for d in docs])]
    by_score = sorted(range(len(docs)), key=lambda i: probabilities[i], reverse=True)[:2]
    assert [d.id for d in out] == [f"doc-{i}" for i in by_score]
    assert out[0].metadata == {"source": "help/password.md"}


def test_cross_encoder_scores_mixed_queries_in_input_order(scorer):
    pandas, paris = "What do giant pandas eat?", "How tall is the Eiffel Tower?"
    texts = [t for t, _ in CORPUS]
    # Interleaved queries, and a pair repeated: each score lands at its own position.
    pairs = [(pandas if i % 2 else paris, t) for i, t in enumerate(texts)] + [(pandas, texts[0])]
    before = copy.deepcopy(pairs)

    scores = CrossRankCrossEncoder(scorer=scorer).score(pairs)

    assert pairs == before
    assert all(type(x) is float for x in scores) and len(scores) == len(pairs)
    # (Approximate: batches padded to other lengths move a logit by ~1e-7.)
    expected = {q: scorer.score(q, texts) for q in (pandas, paris)}
    assert scores == pytest.approx([expected[q][texts.index(t)].probability for q, t in pairs], abs=1e-6)
    logits = CrossRankCrossEncoder(scorer=scorer, output="logit").score(pairs)
    assert logits == pytest.approx([expected[q][texts.index(t)].logit for q, t in pairs], abs=1e-5)
    assert sorted(range(len(pairs)), key=scores.__getitem__) == sorted(
        range(len(pairs)), key=logits.__getitem__
    )


def test_cross_encoder_rejects_bad_pairs_by_position(scorer, tiny_model_dir):
    from pathlib import Path

    from crossrank.backends import load_backend

    encoder = CrossRankCrossEncoder(scorer=scorer)
    assert encoder.score([]) == []
    with pytest.raises(TypeError, match=r"text_pairs\[1\] must be a \(query, text\) pair, got str: 'oops'"):
        encoder.score([("q", "a"), "oops"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"text_pairs\[0\] must be a \(query, text\) pair, got tuple"):
        encoder.score([("q", "a", "b")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"the text of text_pairs\[1\] must be a string, got int: 7"):
        encoder.score([("q", "a"), ("q", 7)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"the query of text_pairs\[0\] \(None, 'a'\) must be a string"):
        encoder.score([(None, "a")])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"the query of text_pairs\[1\] \(' ', 'a'\) is empty"):
        encoder.score([("q", "a"), (" ", "a")])
    with pytest.raises(TypeError, match="text_pairs must be a list"):
        encoder.score("q")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        CrossRankCrossEncoder(scorer=scorer, model="x")
    assert CrossRankCrossEncoder(model=Path(tiny_model_dir))._scorer.backend is load_backend(tiny_model_dir)
