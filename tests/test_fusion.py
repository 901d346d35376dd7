"""Fusion with the first stage: the arithmetic, the policy's order and verdict, and both adapters."""

from __future__ import annotations

import copy
import math

import pytest

from crossrank import RelevancePolicy, Score
from crossrank.fusion import Fusion, fuse


def _scores(*logits: float) -> list[Score]:
    return [Score(logit=x, probability=1 / (1 + math.exp(-x))) for x in logits]


def test_score_fusion_is_a_weighted_sum_of_per_query_z_scores() -> None:
    ce, first = [1.0, 3.0], [10.0, 0.0]
    # z of [1, 3] is [-1, 1]; z of [10, 0] is [1, -1]: equal shares cancel out.
    fused = fuse(Fusion("score", weight=0.5), ce, first)
    assert fused == [0.0, 0.0]
    assert fuse(Fusion("score", weight=1.0), ce, first) == [-1.0, 1.0]
    assert fuse(Fusion("score", weight=0.0), ce, first) == [1.0, -1.0]
    # A stage whose scores are all equal says nothing about the order.
    assert fuse(Fusion("score", weight=0.5), ce, [2.0, 2.0]) == [-0.5, 0.5]
    assert all(type(v) is float for v in fused)


def test_equal_weight_moves_the_retrievers_clear_favourite_up() -> None:
    # The cross-encoder barely prefers 1 over 0; the retriever strongly prefers 0.
    fused = fuse(Fusion("score", weight=0.5), [1.0, 1.1, -3.0], [0.9, 0.2, 0.1])
    assert fused[0] > fused[1] > fused[2]


def test_rank_fusion_uses_the_retrieval_order() -> None:
    fusion = Fusion("rank", weight=0.5, k=1)
    # Cross-encoder ranks [2, 1, 3], retrieval ranks [1, 2, 3].
    expected = [0.5 / 3 + 0.5 / 2, 0.5 / 2 + 0.5 / 3, 0.5 / 4 + 0.5 / 4]
    assert fuse(fusion, [0.5, 2.0, -1.0]) == pytest.approx(expected)
    # First-stage scores do not change rank fusion: the input order is the retrieval order.
    assert fuse(fusion, [0.5, 2.0, -1.0], [0.1, 0.9, 0.5]) == pytest.approx(expected)


def test_score_fusion_without_first_stage_scores_falls_back_to_rank_fusion() -> None:
    assert fuse(Fusion("score", weight=0.3), [1.0, 3.0]) == fuse(Fusion("rank", weight=0.3), [1.0, 3.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": 1.5}, r"weight must be a number in \[0, 1\].*got 1.5"),
        ({"weight": True}, "weight must be a number in"),
        ({"method": "max"}, "method must be 'score' or 'rank', got 'max'"),
        ({"k": 0}, "k must be a number > 0.*got 0"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fusion(**kwargs)


def test_bad_first_stage_scores_name_the_position() -> None:
    with pytest.raises(ValueError, match=r"first_stage_scores\[1\] must be a finite number, got nan"):
        fuse(Fusion(), [1.0, 2.0], [0.3, float("nan")])
    with pytest.raises(ValueError, match="got 2 scores but 1 first_stage_scores"):
        fuse(Fusion(), [1.0, 2.0], [0.3])
    with pytest.raises(ValueError, match=r"first_stage_scores\[0\] must be a finite number"):
        fuse(Fusion("rank"), [1.0], ["high"])  # type: ignore[list-item]


def test_fusion_changes_the_order_but_not_the_verdict_or_the_gate() -> None:
    texts = ["retriever's best", "cross-encoder's best", "third"]
    scores = _scores(1.0, 1.2, -3.0)  # p = 0.73, 0.77, 0.05
    first_stage = [0.9, 0.2, 0.1]
    plain = RelevancePolicy(min_probability=0.5).apply("q", texts, scores)
    fused_policy = RelevancePolicy(min_probability=0.5, fusion=Fusion("score", weight=0.5))
    fused = fused_policy.apply("q", texts, scores, first_stage)
    assert [d.index for d in plain.ranked] == [1, 0, 2]
    assert [d.index for d in fused.ranked] == [0, 1, 2]  # the retriever's strong first pick comes back up
    assert plain.verdict is fused.verdict
    assert {d.index for d in plain.kept} == {d.index for d in fused.kept} == {0, 1}
    assert fused.best_probability == plain.best_probability == pytest.approx(scores[1].probability)
    assert all(type(d.fused_score) is float for d in fused.ranked)
    assert all(d.fused_score is None for d in plain.ranked)
    assert fused.kept[0].metadata()["fused_score"] == fused.kept[0].fused_score
    assert "fused_score" not in plain.kept[0].metadata()
    assert fused.kept[0].to_dict()["fused_score"] == fused.kept[0].fused_score
    assert "fused_score" not in plain.kept[0].to_dict()
    assert fused_policy.to_dict()["fusion"] == {"method": "score", "weight": 0.5, "k": 60}


def test_inputs_are_not_mutated() -> None:
    texts, scores, first_stage = ["a", "b"], _scores(0.0, 1.0), [0.4, 0.6]
    before = copy.deepcopy((texts, scores, first_stage))
    RelevancePolicy(fusion=Fusion()).apply("q", texts, scores, first_stage)
    assert (texts, scores, first_stage) == before


def test_a_policy_refuses_what_is_not_a_fusion() -> None:
    with pytest.raises(ValueError, match="fusion must be a crossrank.fusion.Fusion or None"):
        RelevancePolicy(fusion=0.5)  # type: ignore[arg-type]


def test_llama_index_fuses_with_the_nodes_retrieval_scores(scorer) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.schema import NodeWithScore, TextNode

    from crossrank.llama_index import CrossRankPostprocessor

    texts = ["Click 'Forgot Password' on the login screen.", "Bananas are yellow.", "Passwords expire after 90 days."]
    nodes = [NodeWithScore(node=TextNode(text=t), score=s) for t, s in zip(texts, [0.2, 0.9, 0.5])]
    query = "How do I reset my password?"
    plain = CrossRankPostprocessor(scorer=scorer, top_n=None).postprocess_with_result(nodes, query_str=query)
    only_retriever = CrossRankPostprocessor(scorer=scorer, top_n=None, fusion=Fusion(weight=0.0))
    fused = only_retriever.postprocess_with_result(nodes, query_str=query)
    assert [n.node.get_content() for n in fused.nodes] == [texts[1], texts[2], texts[0]]  # retriever order by score
    assert [n.node.get_content() for n in plain.nodes] != [n.node.get_content() for n in fused.nodes]
    assert "fused_score" in fused.nodes[0].node.excluded_llm_metadata_keys
    assert [n.score for n in nodes] == [0.2, 0.9, 0.5]  # the caller's nodes are untouched
    # A node without a retrieval score: fusion goes by the nodes' order instead.
    unscored = [NodeWithScore(node=n.node) for n in nodes]
    by_order = only_retriever.postprocess_with_result(unscored, query_str=query)
    assert [n.node.get_content() for n in by_order.nodes] == texts


def test_langchain_fuses_by_input_order_or_a_metadata_score(scorer) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.documents import Document

    from crossrank.langchain import CrossRankReranker

    texts = ["Bananas are yellow.", "Click 'Forgot Password' on the login screen."]
    docs = [Document(page_content=t, metadata={"score": s}) for t, s in zip(texts, [0.1, 0.8])]
    query = "How do I reset my password?"
    by_order = CrossRankReranker(scorer=scorer, top_n=None, fusion=Fusion(weight=0.0)).rerank_documents(docs, query)
    assert [d.page_content for d in by_order.documents] == texts  # the input order alone
    by_score = CrossRankReranker(scorer=scorer, top_n=None, fusion=Fusion(weight=0.0), first_stage_score_key="score")
    assert [d.page_content for d in by_score.rerank_documents(docs, query).documents] == texts[::-1]
    with pytest.raises(ValueError, match=r"documents\[0\] has no metadata\['cosine'\]"):
        CrossRankReranker(scorer=scorer, fusion=Fusion(), first_stage_score_key="cosine").rerank_documents(docs, query)


def test_the_scorer_passes_first_stage_scores_to_a_fusing_policy(scorer) -> None:
    import asyncio

    from crossrank import RelevancePolicy
    from crossrank.fusion import Fusion

    texts = ["Click 'Forgot Password' on the login screen.", "Bananas are yellow."]
    retriever_only = RelevancePolicy(fusion=Fusion("score", weight=0.0))
    query = "How do I reset my password?"
    assert [d.index for d in scorer.rerank(query, texts).ranked] == [0, 1]
    assert [d.index for d in scorer.rerank(query, texts, retriever_only, first_stage_scores=[0.1, 0.9]).ranked] == [1, 0]
    result = asyncio.run(scorer.arerank(query, texts, retriever_only, first_stage_scores=[0.1, 0.9]))
    assert [d.index for d in result.ranked] == [1, 0] and result.verdict.value == "ungated"  # the tiny model recommends no threshold
