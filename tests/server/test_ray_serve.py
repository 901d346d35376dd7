"""Smoke test: the scorer deployed with Ray Serve in local mode answers like the scorer itself.

Skipped when ``ray[serve]`` is not installed (the `ray` extra, part of `all`).
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("ray.serve")

from tiny_model import QA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_handle(tiny_model_dir: str):
    import ray
    from ray import serve

    from crossrank.server.ray_serve import build_app

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}},
    )
    try:
        handle = serve.run(
            build_app({"model": tiny_model_dir, "backend": "torch", "device": "cpu", "max_batch_requests": 8}),
            name="crossrank-test",
            route_prefix=None,
        )
        yield handle
    finally:
        serve.shutdown()
        ray.shutdown()


def test_ray_serve_batches_and_matches_the_scorer(ray_handle, scorer) -> None:
    requests = [{"query": q, "documents": [neg, pos]} for q, pos, neg in QA[:6]]
    responses = [ray_handle.rerank.remote(body) for body in requests]  # in flight together: batched by Ray
    for body, response in zip(requests, responses):
        result = response.result(timeout_s=120)
        expected = scorer.score(body["query"], body["documents"])
        assert [r["index"] for r in result["results"]] == [1, 0]
        for item in result["results"]:
            assert math.isclose(item["relevance_score"], expected[item["index"]].probability, abs_tol=1e-4)
        # The tiny test model recommends no threshold, so the default gate applies none and says so.
        assert result["verdict"] == "ungated" and result["threshold_source"] == "none"
    query, positive, negative = QA[0]
    gated = ray_handle.rerank.remote({"query": query, "documents": [negative, positive], "min_probability": 0.5})
    body = gated.result(timeout_s=120)
    assert [r["index"] for r in body["results"]] == [1]
    assert body["verdict"] == "relevant" and (body["threshold"], body["threshold_source"]) == (0.5, "user")


def test_the_old_batch_key_still_works_with_a_warning(tiny_model_dir: str) -> None:
    from crossrank.server.ray_serve import build_app

    with pytest.warns(DeprecationWarning, match="max_batch_requests"):
        app = build_app({"model": tiny_model_dir, "max_batch_size": 4})
    assert app is not None  # only bound, not deployed
