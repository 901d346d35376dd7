"""The cost curve alone (``crossrank bench`` runs it after its headline): p50 vs candidates and passage length.

    # the full grid, shipped default model, CrossEncoder.predict on a standard MiniLM-L6 cross-encoder
    python bench/cost_curve.py --baseline-model DIR --dataset ../shared/data/squad-v1.1-dev --out /tmp/curve

    # a smaller grid (a smoke run on a loaded machine)
    python bench/cost_curve.py --baseline-model DIR --candidates 10 20 --lengths 64 128 \
        --fixed-length 64 --fixed-candidates 10 --repeats 1 --out /tmp/curve

Every engine runs in its own process (peak memory is its own). Writes ``<out>.png``,
``<out>.json`` and prints the Markdown table that goes to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crossrank.evaluation.speed import (
    CURVE_CANDIDATES,
    CURVE_FIXED_CANDIDATES,
    CURVE_FIXED_LENGTH,
    CURVE_LENGTHS,
    curve,
    curve_markdown,
    plot_curve,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "squad-v1.1-dev"


def main() -> None:
    from crossrank import resolve_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="default: the shipped model")
    parser.add_argument("--baseline-model", default=None, help="a standard cross-encoder for CrossEncoder.predict")
    parser.add_argument("--dataset", default=str(DATA))
    parser.add_argument("--engines", nargs="+", default=None, help="default, torch, predict, flashrank")
    parser.add_argument("--candidates", type=int, nargs="+", default=list(CURVE_CANDIDATES))
    parser.add_argument("--lengths", type=int, nargs="+", default=list(CURVE_LENGTHS))
    parser.add_argument("--fixed-length", type=int, default=CURVE_FIXED_LENGTH)
    parser.add_argument("--fixed-candidates", type=int, default=CURVE_FIXED_CANDIDATES)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="crossrank-cost-curve")
    args = parser.parse_args()
    report = curve(
        resolve_model(args.model).path, args.dataset, baseline_model=args.baseline_model, engines=args.engines,
        candidates=args.candidates, lengths=args.lengths, fixed_length=args.fixed_length,
        fixed_candidates=args.fixed_candidates, repeats=args.repeats,
        progress=lambda name: print(f"measuring {name} ...", flush=True),
    )  # fmt: skip
    print(curve_markdown(report))
    print(json.dumps(report["machine"]))
    Path(args.out + ".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {plot_curve(report, args.out + '.png')} and {args.out}.json")


if __name__ == "__main__":
    main()
