"""Ask questions about a folder of real documentation: ingest it, then answer or refuse.

By default it ingests crossrank's own docs/ folder into an embedded Qdrant store in
a temporary folder and asks a few questions, one of them about something the docs
do not cover. The same as the CLI walkthrough:

    crossrank ingest docs/
    crossrank ask "How do I use a Qdrant server instead of the embedded store?"

    python examples/docs_folder_rag.py                       # extractive: quotes the passages it cites
    python examples/docs_folder_rag.py --generator local     # SmolLM2-135M writes the answer (opt-in)
    python examples/docs_folder_rag.py --docs ~/my-project/docs

The demo quotes its sources by default: a 135M-parameter local model invents details
(links, numbers) that its passages do not contain, so it is opt-in here; point
``--generator api`` at a capable OpenAI-compatible model for written answers.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from crossrank.rag import RagPipeline, RagSettings, ingest

QUESTIONS = [
    "How do I use a Qdrant server instead of the embedded store?",
    "What happens when no document is relevant enough?",
    "What is the boiling point of mercury?",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    parser.add_argument(
        "--model", default=None, help="reranker folder or hub id (default: the shipped model)"
    )
    parser.add_argument("--generator", choices=["local", "api", "extractive"], default="extractive")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--question", action="append", help="ask this instead of the built-in questions")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as store:
        settings = RagSettings(
            qdrant_path=Path(store) / "qdrant",
            model=args.model,
            generator=args.generator,
            max_new_tokens=args.max_new_tokens,
        )
        report = ingest([args.docs], settings, show_progress=False)
        print(f"Ingested {args.docs}: {report.summary()}")
        pipeline = RagPipeline.from_settings(settings)
        for question in args.question or QUESTIONS:
            answer = pipeline.ask(question)
            print(f"\nQ: {question}")
            print(
                f"   verdict: {answer.verdict.value} (best {answer.best_probability:.2f}, "
                f"threshold {answer.threshold:.2f}, {answer.threshold_source})"
            )
            if answer.warning:
                print(f"   warning: {answer.warning}")
            if answer.text is not None:
                print(f"   answer: {answer.text}")
            if answer.message:
                print(f"   {answer.message}")
            for source in answer.sources:
                print(
                    f"   [{source.number}] {source.relevance_score:.2f} {Path(source.source).name}#{source.chunk_index} "
                    f"{' '.join(source.text.split())[:80]}"
                )
            for hit in answer.fallback:
                print(
                    f"   keyword match {hit.rank}: {Path(str(hit.payload['source'])).name} "
                    f"{' '.join(str(hit.payload['text']).split())[:80]}"
                )


if __name__ == "__main__":
    main()
