"""One gate everywhere: with no threshold set, every surface gates at the model's recommended one.

The library, both adapters and ``crossrank rerank`` are run over the same scorer (the tiny
test model with a calibration that recommends a threshold) and must agree on the kept
documents, the verdict and where the threshold came from; with the gate turned off they
say ``ungated``, never ``relevant``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossrank import Calibration, CrossEncoderScorer, Gate, RelevancePolicy, Verdict
from crossrank.cli import app

QUERY = "How do I reset my password?"
TEXTS = [
    "Our office is closed on public holidays.",
    "Click on 'Forgot Password' on the login screen and follow the emailed link.",
    "Bananas are yellow.",
]


@pytest.fixture(scope="module")
def threshold(scorer) -> float:
    """A threshold between the on-topic passage and the others, so the gate has work to do."""
    probabilities = sorted((s.probability for s in scorer.score(QUERY, TEXTS)), reverse=True)
    return round((probabilities[0] + probabilities[1]) / 2, 4)


@pytest.fixture(scope="module")
def gated_scorer(tiny_model_dir: str, threshold: float) -> CrossEncoderScorer:
    return CrossEncoderScorer(
        tiny_model_dir,
        backend="torch",
        device="cpu",
        calibration=Calibration(threshold=threshold, precision=0.8),
    )


@pytest.fixture(scope="module")
def gated_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: str, threshold: float) -> Path:
    """A copy of the tiny model whose saved calibration recommends ``threshold`` (fitted on 'your' data)."""
    import shutil

    folder = tmp_path_factory.mktemp("gated") / "model"
    shutil.copytree(tiny_model_dir, folder)
    Calibration(threshold=threshold, precision=0.8, source="fitted").save(folder)
    return folder


def test_the_scorer_gates_at_the_models_threshold_by_default(gated_scorer, threshold: float) -> None:
    assert gated_scorer.recommended_gate == Gate(threshold, "model")
    result = gated_scorer.rerank(QUERY, TEXTS)
    assert [d.index for d in result.kept] == [1]
    assert result.verdict is Verdict.RELEVANT and result.gate == Gate(threshold, "model")
    assert {d.drop_reason.value for d in result.dropped} == {"below_min_probability"}
    # A number the user passes wins, and says so.
    assert gated_scorer.rerank(QUERY, TEXTS, RelevancePolicy(min_probability=0.0)).gate == Gate(0.0, "user")
    # Off is off: everything kept, and the verdict claims nothing.
    ungated = gated_scorer.rerank(QUERY, TEXTS, RelevancePolicy(min_probability=None))
    assert len(ungated.kept) == 3 and ungated.verdict is Verdict.UNGATED


def test_a_model_without_a_recommended_threshold_runs_ungated_and_says_so(scorer) -> None:
    assert scorer.recommended_gate is None
    result = scorer.rerank(QUERY, TEXTS)
    assert len(result.kept) == 3 and result.verdict is Verdict.UNGATED and result.gate == Gate(None, "none")


def test_a_saved_fitted_threshold_is_applied_and_reported_as_fitted(
    gated_model_dir: Path, threshold: float
) -> None:
    scorer = CrossEncoderScorer(gated_model_dir, backend="torch", device="cpu")
    assert scorer.recommended_gate == Gate(threshold, "fitted")
    assert scorer.rerank(QUERY, TEXTS).gate.source == "fitted"


def test_both_adapters_and_the_library_agree_with_no_threshold_set(gated_scorer, threshold: float) -> None:
    pytest.importorskip("langchain_core")
    pytest.importorskip("llama_index.core")
    from langchain_core.documents import Document
    from llama_index.core.schema import NodeWithScore, TextNode

    from crossrank.langchain import CrossRankReranker
    from crossrank.llama_index import CrossRankPostprocessor

    library = gated_scorer.rerank(QUERY, TEXTS, RelevancePolicy(top_n=3))
    # Metadata that LlamaIndex would prepend to the text for its embedder: not scored by default.
    meta = {"file_name": "handbook/passwords.md", "section": "Accounts"}
    lc = CrossRankReranker(scorer=gated_scorer, top_n=3).rerank_documents(
        [Document(page_content=t, metadata=meta) for t in TEXTS], QUERY
    )
    li = CrossRankPostprocessor(scorer=gated_scorer, top_n=3).postprocess_with_result(
        [NodeWithScore(node=TextNode(text=t, metadata=meta), score=0.5) for t in TEXTS], query_str=QUERY
    )
    for adapted in (lc.result, li.result):
        assert adapted.verdict is library.verdict is Verdict.RELEVANT
        assert adapted.gate == library.gate == Gate(threshold, "model")
        assert [(d.index, d.probability) for d in adapted.kept] == [
            (d.index, d.probability) for d in library.kept
        ]
    assert lc.documents[0].metadata["relevance_score"] == li.nodes[0].score
    chain_output = (
        CrossRankReranker(scorer=gated_scorer)
        .as_runnable()
        .invoke({"query": QUERY, "documents": lc.documents})
    )
    assert (chain_output["threshold"], chain_output["threshold_source"]) == (threshold, "model")

    # LlamaIndex's own convention (metadata in the scored text) is one field away, and differs.
    from llama_index.core.schema import MetadataMode

    embed = CrossRankPostprocessor(scorer=gated_scorer, top_n=3, metadata_mode=MetadataMode.EMBED)
    nodes = [NodeWithScore(node=TextNode(text=t, metadata=meta), score=0.5) for t in TEXTS]
    with_metadata = embed.postprocess_with_result(nodes, query_str=QUERY).result
    assert [d.text for d in with_metadata.ranked][0].startswith("file_name")


def test_ungated_adapters_never_say_relevant(gated_scorer) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.documents import Document

    from crossrank.langchain import CrossRankReranker

    out = CrossRankReranker(scorer=gated_scorer, top_n=3, min_probability=None).rerank_documents(
        [Document(page_content=t) for t in TEXTS], QUERY
    )
    assert out.verdict is Verdict.UNGATED and len(out.documents) == 3


def test_the_rerank_command_uses_the_models_threshold_and_names_it(
    gated_model_dir: Path, threshold: float
) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["rerank", QUERY, *TEXTS, "--model", str(gated_model_dir), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["verdict"] == "relevant" and (body["threshold"], body["threshold_source"]) == (
        threshold,
        "fitted",
    )
    assert [d["index"] for d in body["kept"]] == [1]
    off = runner.invoke(
        app, ["rerank", QUERY, *TEXTS, "--model", str(gated_model_dir), "--min-probability", "none", "--json"]
    )
    assert off.exit_code == 0, off.output
    assert json.loads(off.stdout)["verdict"] == "ungated"
    table = runner.invoke(
        app, ["rerank", QUERY, *TEXTS, "--model", str(gated_model_dir)], env={"COLUMNS": "200"}
    )
    assert f"verdict: relevant (threshold {threshold:.2f}, fitted)" in table.output


def test_the_shipped_model_recommends_a_threshold() -> None:
    from crossrank.models import resolve_model

    calibration = Calibration.load(resolve_model(None).path)
    assert calibration is not None and calibration.threshold is not None and calibration.source == "model"
    assert 0.0 < calibration.threshold < 1.0 and calibration.precision == 0.8
