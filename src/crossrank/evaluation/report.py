"""Writing evaluation results: JSON (everything), Markdown (the tables) and PNG plots.

Example:
    ```python
    from crossrank.evaluation.metrics import MetricsTable
    table = MetricsTable(metrics=["ndcg@10"], scores={"bm25": {"ndcg@10": 0.5}}, queries=1)
    print(metrics_markdown(table))
    # -> | run | ndcg@10 |
    # -> | --- | --- |
    # -> | bm25 | 0.5000 |
    ```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crossrank.evaluation.metrics import MetricsTable
from crossrank.evaluation.thresholds import ThresholdAnalysis


def metrics_markdown(table: MetricsTable, baseline: str | None = None, max_p: float = 0.05) -> str:
    """A Markdown table of runs x metrics; ``*`` marks a significant difference from ``baseline``."""
    lines = ["| run | " + " | ".join(table.metrics) + " |", "| --- | " + " | ".join("---" for _ in table.metrics) + " |"]
    for name, scores in table.scores.items():
        cells = []
        for metric in table.metrics:
            cell = f"{scores[metric]:.4f}"
            p = table.p_values.get(name, {}).get(baseline or "", {}).get(metric) if baseline else None
            if p is not None and p < max_p and name != baseline:
                cell += "*"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def thresholds_markdown(analysis: ThresholdAnalysis) -> str:
    """A Markdown table of the threshold sweep."""
    lines = [
        "| threshold | irrelevant top let through | relevant top withheld | passed |",
        "| --- | --- | --- | --- |",
    ]
    for row in analysis.rows:
        lines.append(
            f"| {row.threshold:.2f} | {row.let_through_irrelevant:.1%} | {row.withheld_relevant:.1%} | {row.passed:.1%} |"
        )
    return "\n".join(lines)


def plot_metrics(table: MetricsTable, path: Path, title: str) -> Path:
    """A grouped bar chart of every run on every metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(table.scores)
    positions = np.arange(len(table.metrics))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(table.metrics), 4))
    for i, name in enumerate(names):
        values = [table.scores[name][m] for m in table.metrics]
        bars = ax.bar(positions + i * width - 0.4 + width / 2, values, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(positions, table.metrics)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_thresholds(analysis: ThresholdAnalysis, path: Path, title: str) -> Path:
    """Let-through and withheld rates against the threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [row.threshold for row in analysis.rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, [r.let_through_irrelevant for r in analysis.rows], marker="o", label="irrelevant top let through")
    ax.plot(x, [r.withheld_relevant for r in analysis.rows], marker="s", label="relevant top withheld")
    ax.set_xlabel("min_probability threshold")
    ax.set_ylabel("share of queries")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(
    out_dir: str | Path,
    summary: Mapping[str, Any],
    table: MetricsTable,
    analysis: ThresholdAnalysis | None,
    baseline: str,
) -> dict[str, Path]:
    """Write ``results.json``, ``report.md``, ``metrics.png`` and (with an analysis) ``thresholds.png``.

    Returns:
        File kind -> path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = f"{summary.get('dataset', '')} ({summary.get('split', '')}, {table.queries} queries)"
    files = {"json": out / "results.json", "markdown": out / "report.md", "metrics_plot": out / "metrics.png"}
    data = {**summary, "metrics": table.to_dict(), "thresholds": analysis.to_dict() if analysis else None}
    files["json"].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    plot_metrics(table, files["metrics_plot"], title)
    parts = [f"# Evaluation: {title}", ""]
    parts += [f"- {key}: {value}" for key, value in summary.items()]
    parts += ["", metrics_markdown(table, baseline), "", f"`*`: differs from `{baseline}` (paired t-test, p < 0.05).", ""]
    if analysis is not None:
        files["thresholds_plot"] = out / "thresholds.png"
        plot_thresholds(analysis, files["thresholds_plot"], f"Relevance gate: {title}")
        parts += [
            "## Threshold analysis (top passage per query)",
            "",
            (
                f"{analysis.relevant_tops} relevant tops, {analysis.irrelevant_tops} irrelevant tops "
                f"({analysis.answer_removed_cases} of them with the judged answers removed)."
            ),
            "",
            thresholds_markdown(analysis),
            "",
        ]
    files["markdown"].write_text("\n".join(parts), encoding="utf-8")
    return files
