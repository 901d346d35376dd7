"""Latency of `ask` per stage: extractive answers (the baseline, no LLM) vs the local SmolLM2 generator.

Ingests a docs folder into a temporary embedded Qdrant, then asks each question once
per generator (after one warm-up question) and prints the median milliseconds of each
stage. The local model's load time is measured separately.

    python bench/rag_ask.py --model <reranker dir> --max-new-tokens 48
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from crossrank.rag import LocalGenerator, RagPipeline, RagSettings, ingest

QUESTIONS = [
    "How do I use a Qdrant server instead of the embedded store?",
    "What happens when no document is relevant enough?",
    "Which file types can be ingested?",
    "How do I turn on hybrid search?",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    parser.add_argument("--model", default=None, help="reranker (default: the shipped model)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as store:
        settings = RagSettings(
            qdrant_path=Path(store) / "q",
            model=args.model,
            generator="extractive",
            max_new_tokens=args.max_new_tokens,
            generation_timeout_s=600,
        )
        report = ingest([args.docs], settings, show_progress=False)
        print(f"ingest: {report.summary()}")
        extractive = RagPipeline.from_settings(settings)
        local_generator = LocalGenerator(max_new_tokens=args.max_new_tokens, timeout_s=600)
        started = time.perf_counter()
        local_generator.load()
        print(f"local generator load: {time.perf_counter() - started:.1f} s")
        local = RagPipeline(
            settings, store=extractive.store, scorer=extractive.scorer, generator=local_generator
        )

        for name, pipeline in (("extractive", extractive), ("local", local)):
            pipeline.ask(QUESTIONS[0])  # warm-up
            answers = [pipeline.ask(q) for q in QUESTIONS]
            stages = sorted({s for a in answers for s in a.trace.timings_ms})
            medians = {s: statistics.median(a.trace.timings_ms.get(s, 0.0) for a in answers) for s in stages}
            verdicts = [a.verdict.value for a in answers]
            print(
                f"{name:10s} "
                + "  ".join(f"{s} {ms:.0f} ms" for s, ms in medians.items())
                + f"  verdicts {verdicts}"
            )


if __name__ == "__main__":
    main()
