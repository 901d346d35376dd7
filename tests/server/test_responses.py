"""The response builders every rerank surface answers through (FastAPI and Ray Serve)."""

from __future__ import annotations

import pytest

from crossrank import RelevancePolicy, Score
from crossrank.server.responses import cohere_rerank_body, tei_ranks

SCORES = [Score(0.5, 0.62), Score(2.0, 0.88), Score(0.5, 0.62), Score(-3.0, 0.05)]
TEXTS = ["a", "b", "c", "d"]


def test_cohere_body_keeps_the_policys_order_and_names_every_dropped_document() -> None:
    result = RelevancePolicy(top_n=2, min_probability=0.5).apply("q", TEXTS, SCORES)
    body = cohere_rerank_body(result, model="m", request_id="r1", documents=[{"text": t} for t in TEXTS])
    assert body["id"] == "r1" and body["meta"]["model"] == "m"
    assert [r["index"] for r in body["results"]] == [1, 0]
    assert body["results"][0]["document"] == {"text": "b"} and body["results"][0]["passed_threshold"] is True
    assert {d["index"]: d["drop_reason"] for d in body["dropped"]} == {
        2: "beyond_top_n",
        3: "below_min_probability",
    }
    assert body["verdict"] == "relevant" and body["threshold"] == 0.5 and body["threshold_source"] == "user"
    assert "id" not in cohere_rerank_body(result, model="m")  # Ray Serve has no request id
    assert all("document" not in r for r in cohere_rerank_body(result, model="m")["results"])


def test_tei_ranks_every_text_in_the_same_order_as_the_policy() -> None:
    ranked = RelevancePolicy(min_probability=None).apply("q", TEXTS, SCORES)
    ranks = tei_ranks(SCORES, TEXTS, return_text=True)
    assert [r["index"] for r in ranks] == [d.index for d in ranked.kept] == [1, 0, 2, 3]
    assert ranks[0] == {"index": 1, "score": 0.88, "text": "b"}
    assert [r["score"] for r in tei_ranks(SCORES, TEXTS, raw_scores=True)] == [2.0, 0.5, 0.5, -3.0]


def test_every_field_a_body_builder_writes_is_in_the_response_schema() -> None:
    import pydantic

    from crossrank.server.schemas import CohereRerankResponse

    result = RelevancePolicy(top_n=1, min_probability=0.5).apply(
        "q", ["a", "b"], [Score(0.0, 0.5), Score(1.0, 0.73)]
    )
    body = cohere_rerank_body(result, model="m", request_id="r", documents=[{"text": "a"}, {"text": "b"}])
    assert CohereRerankResponse.model_validate(body).model_dump(exclude_unset=True) == body
    # A key added to the builder but not to the schema is refused, not silently dropped from the answer.
    with pytest.raises(pydantic.ValidationError, match="surprise"):
        CohereRerankResponse.model_validate({**body, "results": [{**body["results"][0], "surprise": 1}]})


def test_the_answer_schema_holds_exactly_what_answer_to_dict_writes() -> None:
    pytest.importorskip("qdrant_client")
    from crossrank import Verdict
    from crossrank.rag.keywords import KeywordHit
    from crossrank.rag.pipeline import Answer, Source, Trace
    from crossrank.server.answer import AnswerResponse

    source = Source(1, "text", "a.md", "A", 0, 0.9, 2.2, True, 3, 1)
    hit = KeywordHit(1, 4.5, {"text": "t", "source": "b.md", "title": "B", "chunk_index": 2})
    answer = Answer(
        "q", Verdict.WEAK, "[1] text", True, "weak", None, None, [source], [hit], 0.9, 0.95, "user", "extractive",
        Trace("dense", 30, {}, [], {"total": 1.0}),
    )  # fmt: skip
    for include_trace in (False, True):
        written = answer.to_dict(include_trace=include_trace)
        parsed = AnswerResponse.model_validate(written).model_dump(mode="json", exclude_unset=True)
        assert parsed == written
