"""CrossEncoderScorer with real models: orderings, windows, batching, cache, async, bad input."""

from __future__ import annotations

import asyncio
import json
import math
import threading

import numpy as np
import pytest

from crossrank import Calibration, CrossEncoderScorer, RelevancePolicy, Verdict
from crossrank.calibration import sigmoid

PASSWORD_Q = "How can I recover a forgotten password?"
PASSWORD_DOCS = [
    "Elephants are the largest land animals.",
    "Click on 'Forgot Password' on the login screen and follow the link we email you.",
    "The stock market closed higher on Friday.",
]


# Sentences the test model learned are unrelated to every question it knows.
FILLER = (
    "Our office is closed on public holidays. The stock market fell sharply on Monday. "
    "A violin has four strings tuned in perfect fifths. Chess is a board game for two players. "
    "Tulips bloom in spring in the Netherlands. Bread is made from flour, water and yeast."
)


def test_relevant_passage_ranks_first_and_clears_threshold(scorer):
    scores = scorer.score(PASSWORD_Q, PASSWORD_DOCS)
    assert max(range(3), key=lambda i: scores[i].logit) == 1
    assert scores[1].probability > 0.5
    assert scores[0].probability < 0.5 and scores[2].probability < 0.5


@pytest.mark.parametrize(
    ("query", "relevant", "irrelevant"),
    [
        (
            "What food do giant pandas live on?",
            "Pandas feed almost entirely on bamboo.",
            "The stock exchange closed.",
        ),
        (
            "Which language do people speak in Brazil?",
            "Brazilians speak Portuguese.",
            "A violin has four strings.",
        ),
        (
            "How tall is the Eiffel Tower in Paris?",
            "The Eiffel Tower is 330 metres high.",
            "Bees collect nectar.",
        ),
    ],
)
def test_unseen_paraphrases_are_ordered_like_a_real_reranker(scorer, query, relevant, irrelevant):
    rel, irr = scorer.score(query, [relevant, irrelevant])
    assert rel.probability > 0.5 > irr.probability


def test_scores_are_plain_python_floats_and_json_serialisable(scorer):
    scores = scorer.score(PASSWORD_Q, PASSWORD_DOCS)
    for s in scores:
        assert type(s.logit) is float and type(s.probability) is float and type(s.windows) is int
    json.dumps([s.to_dict() for s in scores])


def test_probability_is_the_sigmoid_of_the_logit_without_calibration(scorer):
    for s in scorer.score(PASSWORD_Q, PASSWORD_DOCS):
        assert s.probability == pytest.approx(sigmoid(s.logit), abs=1e-12)


def test_matches_sentence_transformers_predict(tiny_model_dir, scorer):
    from sentence_transformers import CrossEncoder

    reference = CrossEncoder(tiny_model_dir, device="cpu").predict(
        [(PASSWORD_Q, d) for d in PASSWORD_DOCS], activation_fn=lambda x: x
    )
    ours = [s.logit for s in scorer.score(PASSWORD_Q, PASSWORD_DOCS)]
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_output_keeps_input_order_whatever_the_batching(tiny_model_dir):
    docs = [f"{'word ' * n}passwords and logins" for n in (30, 2, 17, 0, 9, 44, 5)]
    one = CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu", batch_size=1).score(
        PASSWORD_Q, docs
    )
    many = CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu", batch_size=4).score(
        PASSWORD_Q, docs
    )
    reversed_scores = CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu", batch_size=4).score(
        PASSWORD_Q, docs[::-1]
    )
    np.testing.assert_allclose([s.logit for s in one], [s.logit for s in many], atol=1e-4)
    np.testing.assert_allclose([s.logit for s in many], [s.logit for s in reversed_scores[::-1]], atol=1e-4)


def test_score_many_matches_per_query_scoring(scorer):
    groups = [
        (PASSWORD_Q, PASSWORD_DOCS),
        ("What do pandas eat?", ["Bamboo is the main food of pandas.", "Chess has 64 squares."]),
        ("Empty group", []),
    ]
    together = scorer.score_many(groups)
    assert [len(g) for g in together] == [3, 2, 0]
    for (query, docs), scores in zip(groups, together):
        alone = scorer.score(query, docs)
        np.testing.assert_allclose([s.logit for s in scores], [s.logit for s in alone], atol=1e-4)


def test_long_document_is_windowed_not_truncated(tiny_model_dir):
    filler = " ".join([FILLER] * 3)
    doc = filler + " To recover a forgotten password click 'Forgot Password' on the login screen."
    by_max = CrossEncoderScorer(
        tiny_model_dir, backend="torch", device="cpu", max_length=64, aggregation="max"
    )
    by_first = CrossEncoderScorer(
        tiny_model_dir, backend="torch", device="cpu", max_length=64, aggregation="first"
    )
    by_mean = CrossEncoderScorer(
        tiny_model_dir, backend="torch", device="cpu", max_length=64, aggregation="mean"
    )
    assert by_max.score(PASSWORD_Q, [filler])[0].probability < 0.5  # the filler alone is not relevant
    best, first, mean = (s.score(PASSWORD_Q, [doc])[0] for s in (by_max, by_first, by_mean))
    assert best.windows > 3 and best.windows == first.windows == mean.windows
    # The answer sits in the last window only: max finds it, the first window alone does not.
    assert best.probability > 0.5 > first.probability
    assert first.logit <= mean.logit <= best.logit
    short = by_max.score(PASSWORD_Q, ["Click 'Forgot Password' on the login screen."])[0]
    assert short.windows == 1


def test_windows_overlap_so_an_answer_on_a_boundary_is_seen(tiny_model_dir):
    scorer = CrossEncoderScorer(
        tiny_model_dir, backend="torch", device="cpu", max_length=48, window_overlap=16
    )
    filler = FILLER + " " + FILLER + " "
    assert scorer.score(PASSWORD_Q, [filler])[0].probability < 0.5  # the filler alone is not relevant
    for cut in range(0, 40, 7):
        doc = filler[: len(filler) // 2 + cut] + " Click 'Forgot Password' on the login screen. " + filler
        assert scorer.score(PASSWORD_Q, [doc])[0].probability > 0.5


def test_a_pairs_score_does_not_depend_on_the_other_queries_in_the_batch(tiny_model_dir):
    # The window overlap depends on the query's length; a long query scored in the same
    # call must not change the windows, and so the score, of a short query's long document.
    scorer = CrossEncoderScorer(
        tiny_model_dir, backend="torch", device="cpu", max_length=48, window_overlap=16
    )
    doc = FILLER + " Click 'Forgot Password' on the login screen. " + FILLER
    alone = scorer.score(PASSWORD_Q, [doc])[0]
    long_query = "please tell me in detail which steps to follow: " + PASSWORD_Q
    together = scorer.score_many([(long_query, [doc]), (PASSWORD_Q, [doc])])[1][0]
    assert alone.windows > 1
    assert together.windows == alone.windows
    assert together.logit == pytest.approx(alone.logit, abs=1e-5)


def test_cache_counts_hits_and_returns_the_same_scores(tiny_model_dir):
    cached = CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu", cache_size=4)
    first = cached.score(PASSWORD_Q, PASSWORD_DOCS)
    assert cached.cache_info().misses == 3 and cached.cache_info().hits == 0
    again = cached.score(PASSWORD_Q, PASSWORD_DOCS)
    info = cached.cache_info()
    assert info.hits == 3 and info.size == 3 and info.maxsize == 4
    assert [s.logit for s in first] == [s.logit for s in again]
    cached.score("another query", ["x", "y"])
    assert cached.cache_info().size == 4  # bounded: least recently used entry evicted


def test_scoring_past_the_cache_leaves_it_and_its_counters_alone(tiny_model_dir):
    cached = CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu", cache_size=8)
    first = cached.score(PASSWORD_Q, PASSWORD_DOCS)
    before = cached.cache_info()
    fresh = cached.score_many([(PASSWORD_Q, PASSWORD_DOCS), ("unseen query", ["z"])], use_cache=False)
    assert cached.cache_info() == before  # no hit counted, no miss, nothing stored
    assert [s.logit for s in fresh[0]] == pytest.approx([s.logit for s in first], abs=1e-5)


def test_duplicate_and_odd_documents_are_all_scored(scorer):
    docs = ["", "   ", "same text", "same text", "Ünïcödé ✓ 密码 🔑", "word " * 5000]
    scores = scorer.score(PASSWORD_Q, docs)
    assert len(scores) == len(docs)
    assert scores[2].logit == pytest.approx(scores[3].logit, abs=1e-6)
    assert scores[5].windows > 1
    assert all(0.0 <= s.probability <= 1.0 and math.isfinite(s.logit) for s in scores)


def test_empty_document_list_gives_empty_result(scorer):
    assert scorer.score(PASSWORD_Q, []) == []
    result = scorer.rerank(PASSWORD_Q, [], RelevancePolicy(min_keep=1, top_n=2))
    assert result.verdict is Verdict.NONE and result.kept == [] and result.dropped == []


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["ok", None]])
def test_non_string_document_raises_type_error_naming_its_position(scorer, bad):
    texts = bad if isinstance(bad, list) else ["fine", bad]
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        scorer.score(PASSWORD_Q, texts)


def test_a_string_instead_of_a_list_is_rejected(scorer):
    with pytest.raises(TypeError, match="list of strings"):
        scorer.score(PASSWORD_Q, "a single string")


@pytest.mark.parametrize("query", ["", "   \n"])
def test_empty_query_raises_value_error(scorer, query):
    with pytest.raises(ValueError, match="empty"):
        scorer.score(query, ["doc"])


def test_non_string_query_raises_type_error(scorer):
    with pytest.raises(TypeError, match="query"):
        scorer.score(None, ["doc"])  # type: ignore[arg-type]


def test_score_many_names_the_bad_group(scorer):
    with pytest.raises(TypeError, match=r"groups\[1\] texts\[0\]"):
        scorer.score_many([("q", ["ok"]), ("q", [7])])
    with pytest.raises(ValueError, match=r"groups\[0\] query"):
        scorer.score_many([("", ["ok"])])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"aggregation": "median"},
        {"batch_size": 0},
        {"max_length": 4},
        {"max_length": 100000},
        {"window_overlap": -1},
    ],
)
def test_invalid_settings_raise_at_construction(tiny_model_dir, kwargs):
    with pytest.raises(ValueError):
        CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu", **kwargs)


def test_rerank_gates_relevant_and_irrelevant_queries(scorer):
    policy = RelevancePolicy(top_n=2, min_probability=0.5)
    relevant = scorer.rerank(PASSWORD_Q, PASSWORD_DOCS, policy)
    assert relevant.verdict is Verdict.RELEVANT
    assert [d.index for d in relevant.kept] == [1]
    assert len(relevant.kept) + len(relevant.dropped) == 3

    unrelated = scorer.rerank("What is the distance to the Andromeda galaxy?", PASSWORD_DOCS, policy)
    assert unrelated.verdict is Verdict.NONE
    assert unrelated.best_probability is not None and unrelated.best_probability < 0.5

    weak = scorer.rerank(
        "What is the distance to the Andromeda galaxy?",
        PASSWORD_DOCS,
        RelevancePolicy(min_probability=0.5, min_keep=1),
    )
    assert weak.verdict is Verdict.WEAK and len(weak.kept) == 1 and not weak.kept[0].passed


def test_same_model_is_loaded_once_per_process(tiny_model_dir, scorer):
    from crossrank.backends import load_backend

    other = CrossEncoderScorer(tiny_model_dir, backend="torch", device="cpu", batch_size=3, cache_size=5)
    assert other.backend is scorer.backend
    assert load_backend(tiny_model_dir, backend="torch", device="cpu") is scorer.backend


def test_concurrent_first_loads_share_one_instance(base_model_dir, tmp_path):
    import shutil

    from crossrank.backends import load_backend, loaded_backends

    fresh = shutil.copytree(base_model_dir, tmp_path / "fresh-model")  # a model nobody has loaded yet
    before = len(loaded_backends())
    loaded: list[object] = []
    threads = [
        threading.Thread(target=lambda: loaded.append(load_backend(fresh, device="cpu"))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loaded) == 4 and all(b is loaded[0] for b in loaded)
    assert len(loaded_backends()) == before + 1


def test_threads_scoring_at_once_get_correct_results(scorer):
    expected = [s.logit for s in scorer.score(PASSWORD_Q, PASSWORD_DOCS)]
    results: list[list[float]] = []

    def work() -> None:
        for _ in range(3):
            results.append([s.logit for s in scorer.score(PASSWORD_Q, PASSWORD_DOCS)])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-4)


async def test_async_paths_match_sync_and_leave_the_event_loop_free(scorer):
    docs = PASSWORD_DOCS * 40
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    tick_task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start_ticks = ticks
    scores = await scorer.ascore(PASSWORD_Q, docs)
    ticks_during = ticks - start_ticks
    done.set()
    await tick_task
    assert ticks_during > 1  # the loop kept running other coroutines while the model worked
    np.testing.assert_allclose(
        [s.logit for s in scores], [s.logit for s in scorer.score(PASSWORD_Q, docs)], atol=1e-4
    )
    many = await scorer.ascore_many([(PASSWORD_Q, PASSWORD_DOCS)])
    assert len(many[0]) == 3
    result = await scorer.arerank(PASSWORD_Q, PASSWORD_DOCS, RelevancePolicy(top_n=1))
    assert result.kept[0].index == 1


def test_calibration_saved_beside_a_model_is_applied(tiny_model_dir, tmp_path):
    import shutil

    model_copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_copy)
    Calibration("platt", a=0.5, b=-1.0).save(model_copy)
    calibrated = CrossEncoderScorer(str(model_copy), backend="torch", device="cpu")
    plain = CrossEncoderScorer(str(model_copy), backend="torch", device="cpu", calibration=None)
    for c, p in zip(calibrated.score(PASSWORD_Q, PASSWORD_DOCS), plain.score(PASSWORD_Q, PASSWORD_DOCS)):
        assert c.logit == pytest.approx(p.logit)
        assert c.probability == pytest.approx(sigmoid(0.5 * p.logit - 1.0))


def test_two_label_model_reports_softmax_of_the_positive_class(base_model_dir, tmp_path):
    from sentence_transformers import CrossEncoder

    two = CrossEncoder(base_model_dir, num_labels=2, device="cpu")
    two.save_pretrained(str(tmp_path / "two"))
    reference = CrossEncoder(str(tmp_path / "two"), device="cpu").predict(
        [(PASSWORD_Q, d) for d in PASSWORD_DOCS], apply_softmax=True
    )
    scores = CrossEncoderScorer(str(tmp_path / "two"), backend="torch", device="cpu").score(
        PASSWORD_Q, PASSWORD_DOCS
    )
    np.testing.assert_allclose([s.probability for s in scores], reference[:, 1], atol=1e-5)
    np.testing.assert_allclose([s.probability for s in scores], [sigmoid(s.logit) for s in scores], atol=1e-9)


def test_probability_head_is_not_squashed_twice(base_model_dir, tmp_path):
    import torch
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(base_model_dir, num_labels=1, device="cpu", activation_fn=torch.nn.Identity())
    with torch.no_grad():  # a head whose output is a constant probability of 0.7
        model.model.classifier.weight.zero_()
        model.model.classifier.bias.fill_(0.7)
    model.save_pretrained(str(tmp_path / "prob"))
    scores = CrossEncoderScorer(str(tmp_path / "prob"), backend="torch", device="cpu").score(
        PASSWORD_Q, PASSWORD_DOCS
    )
    assert [round(s.probability, 5) for s in scores] == [0.7, 0.7, 0.7]
    assert scores[0].logit == pytest.approx(math.log(0.7 / 0.3), abs=1e-5)


def test_device_auto_picks_an_available_device(tiny_model_dir):
    import torch

    scorer = CrossEncoderScorer(tiny_model_dir, device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert scorer.backend.device == expected
