"""The crossrank service under Ray Serve (local cluster, 2 CPUs): the same FastAPI app, over Ray's HTTP proxy.

Skipped when ``ray[serve]`` is not installed (the `ray` extra, part of `all`).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytest.importorskip("ray.serve")

from server_helpers import free_port, wait_ready
from tiny_model import QA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_url(tiny_model_dir: str):
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
    port = free_port()
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(
            build_app(
                {
                    "model": tiny_model_dir,
                    "backend": "torch",
                    "device": "cpu",
                    "max_batch_size": "8",
                    "api_key": "k",
                }
            ),
            name="crossrank-test",
            route_prefix="/",
        )
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, timeout_s=300)
        yield url
    finally:
        serve.shutdown()
        ray.shutdown()


AUTH = {"Authorization": "Bearer k"}


def test_ray_serves_the_same_endpoints_and_scores(ray_url: str, scorer) -> None:
    requests = [{"query": q, "documents": [neg, pos]} for q, pos, neg in QA[:6]]
    with ThreadPoolExecutor(6) as pool:  # in flight together: batched by the replica's batcher
        replies = list(
            pool.map(
                lambda b: httpx.post(f"{ray_url}/v1/rerank", json=b, headers=AUTH, timeout=120), requests
            )
        )
    for body, reply in zip(requests, replies):
        assert reply.status_code == 200, reply.text
        result = reply.json()
        expected = scorer.score(body["query"], body["documents"])
        assert [r["index"] for r in result["results"]] == [1, 0]
        for item in result["results"]:
            assert math.isclose(item["relevance_score"], expected[item["index"]].probability, abs_tol=1e-4)
        # The tiny test model recommends no threshold, so the default gate applies none and says so.
        assert result["verdict"] == "ungated" and result["threshold_source"] == "none"
    query, positive, negative = QA[0]
    tei = httpx.post(
        f"{ray_url}/rerank", json={"query": query, "texts": [negative, positive]}, headers=AUTH, timeout=120
    )
    assert tei.status_code == 200 and [r["index"] for r in tei.json()] == [1, 0]
    metrics = text_string_to_metric_families(httpx.get(f"{ray_url}/metrics", timeout=30).text)
    served = {
        s.labels["endpoint"]: s.value
        for family in metrics
        for s in family.samples
        if s.name == "crossrank_http_requests_total" and s.labels["status"] == "200"
    }
    assert served["/v1/rerank"] == 6 and served["/rerank"] == 1


def test_ray_keeps_the_service_rules(ray_url: str) -> None:
    query, positive, negative = QA[0]
    unauthorised = httpx.post(
        f"{ray_url}/v1/rerank", json={"query": query, "documents": [positive]}, timeout=60
    )
    assert unauthorised.status_code == 401
    bad = httpx.post(
        f"{ray_url}/v1/rerank", json={"query": query, "documents": [positive, 3]}, headers=AUTH, timeout=60
    )
    assert bad.status_code == 422 and "documents[1]" in bad.json()["message"]
    gated = httpx.post(
        f"{ray_url}/v1/rerank",
        json={"query": query, "documents": [negative, positive], "min_probability": 0.5},
        headers=AUTH,
        timeout=120,
    ).json()
    assert [r["index"] for r in gated["results"]] == [1]
    assert gated["verdict"] == "relevant" and (gated["threshold"], gated["threshold_source"]) == (0.5, "user")


def test_build_app_reads_the_server_settings(tiny_model_dir: str) -> None:
    from crossrank.server.ray_serve import settings_from_args

    settings = settings_from_args({"model": tiny_model_dir, "max_batch_size": "4", "num_replicas": "2"})
    assert (settings.model, settings.max_batch_size) == (tiny_model_dir, 4)
    with pytest.warns(DeprecationWarning, match="max_wait_ms"):
        assert settings_from_args({"batch_wait_timeout_s": "0.02"}).max_wait_ms == pytest.approx(20.0)
    with pytest.warns(DeprecationWarning, match="max_batch_requests=16 is ignored"):
        settings_from_args({"max_batch_requests": 16})
    with pytest.raises(ValueError, match=r"unknown build_app key\(s\) \['max_batch'\]"):
        settings_from_args({"max_batch": 4})
    with pytest.raises(ValueError, match="max_batch_size: "):
        settings_from_args({"max_batch_size": "many"})
