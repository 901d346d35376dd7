"""The late-interaction cross-encoder: it starts exactly at its bi-encoder and loads through the scorer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

QUERIES = ["how do I reset my password", "what is the boiling point of mercury"]
PASSAGES = [
    "Click on Forgot Password on the login screen and follow the emailed link.",
    "Mercury boils at 356.7 degrees Celsius, a fact known for centuries.",
]


@pytest.fixture(scope="module")
def closed_model_dir(base_model_dir: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    from transformers import AutoTokenizer

    from crossrank.late_interaction import LateInteractionCrossEncoder

    out = tmp_path_factory.mktemp("late-interaction")
    LateInteractionCrossEncoder.from_encoder(base_model_dir, joint_layers=2).save(out)
    AutoTokenizer.from_pretrained(base_model_dir).save_pretrained(str(out))
    return str(out)


def _bi_encoder_cosines(base_model_dir: str) -> list[list[float]]:
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(base_model_dir, device="cpu")
    q = encoder.encode(QUERIES, normalize_embeddings=True)
    p = encoder.encode(PASSAGES, normalize_embeddings=True)
    return (q @ p.T).tolist()


def test_closed_gates_score_exactly_the_bi_encoder_cosine(base_model_dir: str, closed_model_dir: str) -> None:
    from crossrank import CrossEncoderScorer

    scorer = CrossEncoderScorer(closed_model_dir, backend="torch", device="cpu")
    expected = _bi_encoder_cosines(base_model_dir)
    for row, query in enumerate(QUERIES):
        scores = scorer.score(query, PASSAGES)
        for column, score in enumerate(scores):
            assert isinstance(score.logit, float)
            assert (score.logit + 10.0) / 20.0 == pytest.approx(expected[row][column], abs=1e-4)


def test_opening_the_gates_changes_scores_and_survives_a_save(closed_model_dir: str, tmp_path: Path) -> None:
    import torch
    from transformers import AutoTokenizer

    from crossrank.late_interaction import LateInteractionCrossEncoder, read_architecture

    model = LateInteractionCrossEncoder.load(closed_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(closed_model_dir)
    features = tokenizer(QUERIES, PASSAGES, padding=True, return_tensors="pt")
    with torch.inference_mode():
        closed = model(**features)
        model.gates.data.fill_(0.5)
        opened = model(**features)
    assert not torch.allclose(closed, opened, atol=1e-3)
    model.save(tmp_path)
    config = read_architecture(tmp_path)
    assert config is not None and config.gates == ((0.5,) * 12, (0.5,) * 12)
    with torch.inference_mode():
        assert torch.allclose(LateInteractionCrossEncoder.load(tmp_path).eval()(**features), opened, atol=1e-5)


def test_padding_does_not_change_a_pairs_score(closed_model_dir: str) -> None:
    import torch
    from transformers import AutoTokenizer

    from crossrank.late_interaction import LateInteractionCrossEncoder

    model = LateInteractionCrossEncoder.load(closed_model_dir).eval()
    model.gates.data.fill_(0.3)
    tokenizer = AutoTokenizer.from_pretrained(closed_model_dir)
    alone = tokenizer([QUERIES[0]], [PASSAGES[0]], return_tensors="pt")
    batched = tokenizer([QUERIES[0], QUERIES[1]], [PASSAGES[0], PASSAGES[1] * 4], padding=True, return_tensors="pt")
    with torch.inference_mode():
        assert float(model(**batched)[0]) == pytest.approx(float(model(**alone)[0]), abs=1e-4)


def test_onnx_export_matches_torch(closed_model_dir: str, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from crossrank import CrossEncoderScorer

    torch_scores = CrossEncoderScorer(closed_model_dir, backend="torch", device="cpu").score(QUERIES[0], PASSAGES)
    onnx_scores = CrossEncoderScorer(closed_model_dir, backend="onnx").score(QUERIES[0], PASSAGES)
    assert [round(s.logit, 1) for s in onnx_scores] == pytest.approx([round(s.logit, 1) for s in torch_scores], abs=0.3)
    assert onnx_scores[0].logit > onnx_scores[1].logit


def test_an_unknown_architecture_is_a_clear_error(tmp_path: Path) -> None:
    from crossrank.late_interaction import ARCHITECTURE_FILE, read_architecture

    (tmp_path / ARCHITECTURE_FILE).write_text(json.dumps({"architecture": "mystery", "joint_layers": 1}))
    with pytest.raises(ValueError, match="mystery"):
        read_architecture(tmp_path)
