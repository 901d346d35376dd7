"""``crossrank bench``'s headline never times CrossEncoder.predict on a model it cannot load."""

from __future__ import annotations

from pathlib import Path

import crossrank
from crossrank.evaluation.speed import compare, markdown


def test_the_late_interaction_default_skips_the_predict_baseline_and_says_why(shipped_model_dir: str) -> None:
    sample = Path(crossrank.__file__).parent / "sample_data"
    report = compare(shipped_model_dir, sample, queries=1, candidates=2, engines=("baseline", "crossrank"), isolated=False)
    assert [r["engine"] for r in report["results"]] == ["crossrank"]
    assert "speedup" not in report
    assert "cannot load crossrank's late-interaction model format" in report["baseline_skipped"]
    assert report["baseline_skipped"] in markdown(report)
