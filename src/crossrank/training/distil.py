"""Distilling a teacher's ranking into a late-interaction cross-encoder (``crossrank distil`` and ``crossrank adapt``).

The loss is the listwise KL divergence between the teacher's and the student's softmax
over each query's group of candidates (the standard way small cross-encoders are
distilled), or Margin-MSE on (first, other) score differences; human labels, where a
group has them, add a small cross-entropy term. The student is a
:class:`~crossrank.late_interaction.LateInteractionCrossEncoder`, so training starts
from the bi-encoder's own ranking rather than from a random head.

The loop is written here rather than run through sentence-transformers'
``CrossEncoderTrainer`` because the student is not a sentence-transformers module (its
lower layers use a different attention mask than its top layers); it is a plain AdamW
loop with transformers' linear warm-up schedule, checkpoints and resume.

Example:
    ```python
    from crossrank.training.distil import DistilConfig, distil

    summary = distil(groups, "runs/student", base="path/to/all-MiniLM-L6-v2", config=DistilConfig(epochs=1))
    ```
"""

from __future__ import annotations

import functools
import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from crossrank.training.groups import TrainingGroup

logger = logging.getLogger(__name__)

DistilLoss = Literal["kl", "margin-mse"]


@dataclass(frozen=True)
class DistilConfig:
    """Hyperparameters of one distillation run.

    Attributes:
        loss: ``"kl"`` (listwise, softmax over the group) or ``"margin-mse"``.
        temperature: The teacher's cosines are divided by this before the softmax.
        label_weight: Weight of the human-label cross-entropy term (0 turns it off).
        joint_layers: Top layers of the student whose heads can learn to read query and passage together.
        trainable_layers: Top layers whose weights are trained; the ones below stay the base's
            (they encode each text alone, as the bi-encoder did) and cost no backward pass.
        head_learning_rate: Learning rate of the gates, scale and bias, which start far from
            where they end (the gates at 0) and would hardly move at the encoder's rate.
        epochs: Passes over the groups (fractions allowed).
        max_steps: Stop after this many optimiser steps (-1: run the epochs).
        batch_queries: Groups per optimiser step.
        learning_rate: AdamW peak learning rate.
        warmup_ratio: Share of steps spent warming the learning rate up.
        max_length: Tokens per (query, passage) pair.
        checkpoint_every: Steps between checkpoints (each resumable).
        seed: Shuffling seed.
    """

    loss: DistilLoss = "kl"
    temperature: float = 0.05
    label_weight: float = 0.2
    joint_layers: int = 2
    trainable_layers: int = 2
    head_learning_rate: float = 5e-3
    epochs: float = 1.0
    max_steps: int = -1
    batch_queries: int = 8
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.05
    max_length: int = 256
    checkpoint_every: int = 200
    seed: int = 42


@dataclass(frozen=True)
class DistilSummary:
    """What a run did: where the final model is, its steps, time and final loss."""

    output_dir: str
    steps: int
    seconds: float
    final_loss: float
    groups: int
    config: DistilConfig


def _group_loss(student_logits, teacher, labels, config: DistilConfig):  # type: ignore[no-untyped-def]
    import torch

    if config.loss == "kl":
        target = torch.softmax(teacher / config.temperature, dim=-1)
        loss = torch.nn.functional.kl_div(
            torch.log_softmax(student_logits, dim=-1), target, reduction="batchmean"
        )
    else:
        # Margin-MSE on every (first, other) difference, the teacher on the student's logit scale.
        student_margin = student_logits[:, :1] - student_logits[:, 1:]
        teacher_margin = (teacher[:, :1] - teacher[:, 1:]) / config.temperature
        loss = torch.nn.functional.mse_loss(student_margin, teacher_margin)
    has_positive = labels[:, 0] > 0.5
    if config.label_weight > 0 and bool(has_positive.any()):
        ce = -torch.log_softmax(student_logits[has_positive], dim=-1)[:, 0].mean()
        loss = loss + config.label_weight * ce
    return loss


@functools.lru_cache(maxsize=1)
def _epoch_order(size: int, seed: int) -> tuple[int, ...]:
    # Shuffled once per epoch (not per step); seeded so a resumed run continues the same order.
    order = list(range(size))
    random.Random(seed).shuffle(order)
    return tuple(order)


def _save_checkpoint(model, tokenizer, optimizer, scheduler, step: int, folder: Path, keep: int = 2) -> Path:  # type: ignore[no-untyped-def]
    import torch

    target = folder / f"checkpoint-{step}"
    model.save(target)
    tokenizer.save_pretrained(str(target))
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step},
        target / "trainer_state.pt",
    )
    for old in sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The newest complete checkpoint in ``folder``, if any."""
    done = [p for p in Path(folder).glob("checkpoint-*") if (p / "trainer_state.pt").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1])) if done else None


def distil(
    groups: Sequence[TrainingGroup],
    output_dir: str | Path,
    base: str | Path,
    config: DistilConfig = DistilConfig(),
    resume: bool = True,
    on_checkpoint: Callable[[Path, int], None] | None = None,
) -> DistilSummary:
    """Train a late-interaction student on ``groups`` (each with ``teacher`` scores) and save it to ``output_dir``.

    ``base`` is an encoder to start from (a bi-encoder such as all-MiniLM-L6-v2) or an
    existing late-interaction model (``crossrank adapt`` continues from the default model).
    With ``resume``, the newest checkpoint in ``output_dir`` is picked up where it stopped.

    Example:
        ```python
        distil(groups, "runs/student", base="path/to/all-MiniLM-L6-v2", config=DistilConfig(max_steps=10))
        ```
    """
    import torch
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from crossrank.late_interaction import LateInteractionCrossEncoder, read_architecture

    usable = [g for g in groups if len(g.passages) >= 2 and len(g.teacher) == len(g.passages)]
    if not usable:
        raise ValueError(
            "no group has at least two passages with teacher scores; score the groups with a teacher first"
        )
    skipped = len(groups) - len(usable)
    if skipped:
        logger.warning(
            "distil: %d of %d groups have fewer than 2 passages or no teacher scores and are left out",
            skipped,
            len(groups),
        )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = latest_checkpoint(out) if resume else None
    start_from = checkpoint or Path(base)
    if read_architecture(start_from) is not None:
        model = LateInteractionCrossEncoder.load(start_from)
    else:
        model = LateInteractionCrossEncoder.from_encoder(
            start_from, config.joint_layers, max_length=config.max_length
        )
    tokenizer = AutoTokenizer.from_pretrained(str(start_from))
    steps_per_epoch = max(1, len(usable) // config.batch_queries)
    total = config.max_steps if config.max_steps > 0 else max(1, int(steps_per_epoch * config.epochs))
    layers: torch.nn.ModuleList = model.encoder.encoder.layer
    model.encoder.embeddings.requires_grad_(False)
    for index, layer in enumerate(layers):
        layer.requires_grad_(index >= len(layers) - config.trainable_layers)
    head = [model.gates, model.scale, model.bias]
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": config.learning_rate, "weight_decay": 0.01},
            {"params": head, "lr": config.head_learning_rate, "weight_decay": 0.0},
        ]
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * config.warmup_ratio), total)
    step = 0
    first_step = 0
    if checkpoint is not None:
        state = torch.load(checkpoint / "trainer_state.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = int(state["step"])
        logger.info("distil: resuming from %s (step %d of %d)", checkpoint, step, total)
    first_step = step
    (out / "distil_config.json").write_text(json.dumps(asdict(config), indent=2) + "\n", encoding="utf-8")
    model.train()
    started = time.perf_counter()
    running = 0.0
    loss_value = float("nan")
    while step < total:
        # The same seeded order per epoch, so a resumed run sees the groups it had not seen yet.
        position = (step % steps_per_epoch) * config.batch_queries
        epoch = step // steps_per_epoch
        order = _epoch_order(len(usable), config.seed + epoch)
        batch = [usable[i] for i in order[position : position + config.batch_queries]]
        width = min(len(g.passages) for g in batch)
        queries = [g.query for g in batch for _ in range(width)]
        passages = [p for g in batch for p in g.passages[:width]]
        features = tokenizer(
            queries,
            passages,
            truncation="longest_first",
            max_length=config.max_length,
            padding=True,
            return_tensors="pt",
        )
        logits = model(features["input_ids"], features["attention_mask"], features["token_type_ids"]).view(
            len(batch), width
        )
        teacher = torch.tensor([g.teacher[:width] for g in batch], dtype=torch.float32)
        labels = torch.tensor([g.labels[:width] for g in batch], dtype=torch.float32)
        loss = _group_loss(logits, teacher, labels, config)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        loss_value = float(loss.detach())
        running = 0.98 * running + 0.02 * loss_value if step > 1 else loss_value
        if step % 20 == 0:
            rate = (time.perf_counter() - started) / max(1, step - first_step)
            logger.info(
                "distil: step %d/%d loss %.4f (avg %.4f) %.2f s/step, mean gate %.3f, scale %.2f",
                step,
                total,
                loss_value,
                running,
                rate,
                float(model.gates.detach().mean()),
                float(model.scale.detach()),
            )
        if step % config.checkpoint_every == 0 or step == total:
            saved = _save_checkpoint(model, tokenizer, optimizer, scheduler, step, out)
            if on_checkpoint is not None:
                model.eval()
                on_checkpoint(saved, step)
                model.train()
    model.eval()
    final = out / "model"
    model.save(final)
    tokenizer.save_pretrained(str(final))
    return DistilSummary(str(final), step, time.perf_counter() - started, loss_value, len(usable), config)
