"""crossrank.results: the result types and the one field vocabulary every surface writes them in."""

from __future__ import annotations

import dataclasses

import pytest

from crossrank import RelevancePolicy, Score
from crossrank.results import FIELDS, RERANK_FIELDS, RETRIEVAL_FIELDS, DropReason, RankedDocument

SCORES = [Score(2.0, 0.88, 1), Score(-1.0, 0.27, 2), Score(0.5, 0.62, 1)]


def test_every_named_field_is_in_the_vocabulary() -> None:
    assert set(RERANK_FIELDS) | set(RETRIEVAL_FIELDS) <= set(FIELDS)
    assert all(isinstance(text, str) and text.endswith(".") for text in FIELDS.values())


def test_to_dict_and_metadata_write_the_same_names_and_values() -> None:
    result = RelevancePolicy(top_n=2, min_probability=0.5).apply("q", ["a", "b", "c"], SCORES)
    for doc in result.ranked:
        written = doc.to_dict()
        assert set(written) <= set(FIELDS)
        assert written["index"] == doc.index and written["text"] == doc.text
        assert (written["relevance_score"], written["relevance_logit"]) == (doc.probability, doc.logit)
        assert (written["rerank_rank"], written["rerank_windows"]) == (doc.rank, doc.windows)
        # metadata is the same fields without the input's own (index, text) and without unset ones
        assert doc.metadata() == {
            k: v for k, v in written.items() if k not in ("index", "text") and v is not None
        }
    kept, dropped = result.kept[0].to_dict(), result.dropped[0].to_dict()
    assert kept["drop_reason"] is None and kept["passed_threshold"] is True
    assert (
        dropped["drop_reason"] == DropReason.BELOW_MIN_PROBABILITY.value
        and dropped["passed_threshold"] is False
    )
    assert "fused_score" not in kept  # only when the policy fuses


def test_a_result_writes_its_documents_through_the_same_vocabulary() -> None:
    result = RelevancePolicy(min_probability=0.5).apply("q", ["a", "b", "c"], SCORES)
    body = result.to_dict()
    assert body["kept"] == [d.to_dict() for d in result.kept]
    assert body["dropped"] == [d.to_dict() for d in result.dropped]
    assert (body["verdict"], body["threshold"], body["threshold_source"]) == ("relevant", 0.5, "user")


def test_the_http_and_answer_schemas_use_the_vocabulary() -> None:
    pytest.importorskip("fastapi")
    from crossrank.server.responses import DEPRECATED_ALIASES
    from crossrank.server.schemas import CohereRerankResult, DroppedResult

    for model in (CohereRerankResult, DroppedResult):
        names = set(model.model_fields) - {"document"} - set(DEPRECATED_ALIASES)
        assert names <= set(FIELDS), names - set(FIELDS)
        for name in names:
            assert model.model_fields[name].description == FIELDS[name]
        schema = model.model_json_schema()["properties"]
        assert all(schema[old].get("deprecated") is True for old in DEPRECATED_ALIASES)
    assert set(DEPRECATED_ALIASES.values()) <= set(FIELDS)


def test_the_rag_sources_and_trace_use_the_vocabulary() -> None:
    pytest.importorskip("qdrant_client")
    from crossrank.rag.pipeline import CandidateTrace, Source

    score_fields = {"relevance_score", "relevance_logit", "passed_threshold", "retrieval_rank", "rerank_rank"}
    assert score_fields <= {f.name for f in dataclasses.fields(Source)}
    trace_fields = {f.name for f in dataclasses.fields(CandidateTrace)}
    assert score_fields | {"retrieval_score", "drop_reason"} <= trace_fields
    assert not {"probability", "logit", "passed", "rank", "windows"} & trace_fields


def test_results_are_frozen_and_floats_are_plain() -> None:
    doc = RankedDocument(0, "t", 1.5, 0.82, 1, rank=1, passed=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.rank = 2  # type: ignore[misc]
    result = RelevancePolicy(min_probability=None).apply("q", ["a"], [Score(1.0, 0.73)])
    assert type(result.kept[0].to_dict()["relevance_score"]) is float
