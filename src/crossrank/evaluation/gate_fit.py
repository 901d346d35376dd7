"""Fit the relevance gate to a user's own documents from a small file of questions.

``crossrank calibrate FOLDER --questions questions.jsonl`` retrieves candidates for each
question from the folder's chunks (the dense first stage ``crossrank ask`` uses), reranks
them, and asks at every threshold: of the questions the gate would answer, how many does
it answer from the right file? The lowest threshold reaching the target precision is the
folder's recommended threshold. Questions the documents cannot answer are what make the
threshold meaningful, so the file should hold both kinds.

The questions file has one JSON object per line::

    {"question": "How do I reset my password?", "source": "accounts/passwords.md"}
    {"question": "What is the capital of Peru?", "source": null}

``source`` is the file (relative to the folder, or absolute) that answers the question;
``null`` or absent means the documents do not answer it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crossrank.data import DatasetError, iter_jsonl


@dataclass(frozen=True)
class LabelledQuestion:
    """A question and the file that answers it (``None``: not answerable from the documents)."""

    question: str
    source: str | None


def load_questions(path: str | Path, folder: str | Path) -> list[LabelledQuestion]:
    """Read a questions file; each ``source`` is resolved against ``folder``.

    Raises:
        DatasetError: Naming the file and line of a bad record, a source that is not a
            file, or a file without both answerable and unanswerable questions.

    Example:
        ```python
        questions = load_questions("questions.jsonl", "docs/")
        ```
    """
    path, root = Path(path), Path(folder).expanduser().resolve()
    if not path.is_file():
        raise DatasetError(f"{path}: no such questions file")
    questions: list[LabelledQuestion] = []
    for number, record in iter_jsonl(path):
        question = record.get("question")
        if not isinstance(question, str) or not question.strip():
            raise DatasetError(f'{path}:{number}: expected an object with a non-empty string "question"')
        source = record.get("source")
        if source is not None:
            if not isinstance(source, str):
                raise DatasetError(f'{path}:{number}: "source" must be a file path or null, got {source!r}')
            resolved = (root / source).resolve() if not Path(source).is_absolute() else Path(source).resolve()
            if not resolved.is_file():
                raise DatasetError(f"{path}:{number}: source {source!r} is not a file under {root}")
            source = str(resolved)
        questions.append(LabelledQuestion(question, source))
    answerable = sum(q.source is not None for q in questions)
    if answerable == 0 or answerable == len(questions):
        raise DatasetError(
            f"{path}: {answerable} of {len(questions)} questions name a source; fitting a threshold needs both "
            'questions the documents answer and questions they do not ("source": null)'
        )
    return questions


@dataclass(frozen=True)
class GateSweepRow:
    """What the gate does at one threshold.

    Attributes:
        threshold: The ``min_probability``.
        answered: Questions whose best passage reaches it (the gate lets them through).
        correct: Of those, answerable ones whose best passage comes from their source.
        precision: ``correct / answered`` (1.0 when nothing is answered).
        recall: ``correct / answerable questions``.
    """

    threshold: float
    answered: int
    correct: int
    precision: float
    recall: float


@dataclass(frozen=True)
class GateFit:
    """A threshold fitted to a folder, and how the reranker's probability separates the questions.

    Attributes:
        questions / answerable: How many questions, and how many the documents answer.
        target_precision: The precision asked for.
        threshold: The lowest threshold reaching it (``None``: none does).
        precision / recall: What that threshold achieves on these questions.
        auc_probability: ROC AUC of the best calibrated probability, answerable vs not.
        auc_first_stage: The same for the first stage's best cosine (the baseline a gate
            must beat).
        sweep: One row per distinct threshold, ascending.
    """

    questions: int
    answerable: int
    target_precision: float
    threshold: float | None
    precision: float | None
    recall: float | None
    auc_probability: float | None
    auc_first_stage: float | None
    sweep: list[GateSweepRow]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return float(roc_auc_score([int(v) for v in labels], list(scores)))


def fit_gate(
    best_probability: Sequence[float],
    correct_top: Sequence[bool],
    answerable: Sequence[bool],
    first_stage_best: Sequence[float],
    target_precision: float = 0.8,
) -> GateFit:
    """Sweep thresholds over per-question best probabilities and pick the lowest reaching ``target_precision``.

    Args:
        best_probability: Per question, the best calibrated probability among its candidates.
        correct_top: Per question, whether the reranker's best passage is from its source.
        answerable: Per question, whether the documents answer it.
        first_stage_best: Per question, the first stage's best score (for the baseline AUC).
        target_precision: Share of answered questions that must be answered from the right file.

    Example:
        ```python
        fit = fit_gate([0.9, 0.7, 0.2], [True, True, False], [True, True, False], [0.8, 0.6, 0.5])
        fit.threshold   # 0.7
        ```
    """
    n = len(best_probability)
    if not (len(correct_top) == len(answerable) == len(first_stage_best) == n):
        raise ValueError("fit_gate needs one value per question in every sequence")
    if not 0.0 < target_precision <= 1.0:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    total_answerable = sum(bool(a) for a in answerable)
    sweep: list[GateSweepRow] = []
    for threshold in sorted(set(float(p) for p in best_probability)):
        through = [i for i in range(n) if best_probability[i] >= threshold]
        correct = sum(1 for i in through if answerable[i] and correct_top[i])
        sweep.append(
            GateSweepRow(
                threshold=threshold,
                answered=len(through),
                correct=correct,
                precision=correct / len(through) if through else 1.0,
                recall=correct / total_answerable if total_answerable else 0.0,
            )
        )
    reaching = [row for row in sweep if row.answered and row.precision >= target_precision]
    chosen = reaching[0] if reaching else None
    return GateFit(
        questions=n,
        answerable=total_answerable,
        target_precision=float(target_precision),
        threshold=None if chosen is None else chosen.threshold,
        precision=None if chosen is None else chosen.precision,
        recall=None if chosen is None else chosen.recall,
        auc_probability=_auc(answerable, best_probability),
        auc_first_stage=_auc(answerable, first_stage_best),
        sweep=sweep,
    )


def plot_gate_sweep(fit: GateFit, path: str | Path, title: str = "") -> Path:
    """Precision and recall of the gate against the threshold, the fitted one marked; a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [row.threshold for row in fit.sweep]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.step(
        xs,
        [row.precision for row in fit.sweep],
        where="post",
        label="precision (answered from the right file)",
    )
    ax.step(
        xs, [row.recall for row in fit.sweep], where="post", label="recall (answerable questions answered)"
    )
    ax.step(
        xs,
        [row.answered / fit.questions for row in fit.sweep],
        where="post",
        label="share of questions answered",
    )
    if fit.threshold is not None:
        ax.axvline(
            fit.threshold, color="black", linestyle="--", label=f"fitted threshold {fit.threshold:.2f}"
        )
    ax.axhline(fit.target_precision, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("min_probability")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, 1)
    ax.set_title(title or f"Gate sweep ({fit.questions} questions, {fit.answerable} answerable)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def question_outcomes(
    questions: Sequence[LabelledQuestion],
    probabilities: Mapping[str, Mapping[str, float]],
    logits: Mapping[str, Mapping[str, float]],
    first_stage: Mapping[str, Mapping[str, float]],
) -> tuple[list[float], list[bool], list[bool], list[float]]:
    """Per question (ids ``q0``, ``q1``, ...): best probability, right file on top, answerable, best first-stage score.

    Chunk ids are ``"<file>#<n>"`` (``crossrank.rag.ingest.read_chunks``).
    """
    best, correct, answerable, first = [], [], [], []
    for i, question in enumerate(questions):
        qid = f"q{i}"
        probs = probabilities.get(qid, {})
        ranked = sorted(logits.get(qid, {}).items(), key=lambda item: (-item[1], item[0]))
        top_file = ranked[0][0].rsplit("#", 1)[0] if ranked else None
        best.append(max(probs.values(), default=0.0))
        answerable.append(question.source is not None)
        correct.append(question.source is not None and top_file == question.source)
        first.append(max(first_stage.get(qid, {}).values(), default=0.0))
    return best, correct, answerable, first
