"""The crossrank service under Ray Serve, for teams that outgrow one machine.

Each replica serves the same FastAPI app as ``crossrank serve`` (mounted with
``serve.ingress``): every endpoint (``/v1/rerank``, ``/v2/rerank``, TEI ``/rerank``,
``/healthz``, ``/readyz``, ``/metrics``, and ``/v1/answer`` when answering is on), the
request limits, the API key, and the dynamic batcher with its queue limit, admission
control and request timeout. Ray Serve adds replicas across a cluster and routes HTTP
requests to them; a replica reports healthy only once its model is loaded.

Needs ``pip install "ray[serve]"`` (not a crossrank dependency).

Example:
    $ serve run crossrank.server.ray_serve:build_app model=/models/reranker num_replicas=2
    $ curl -s localhost:8000/v1/rerank -H 'Content-Type: application/json' -d '{"query": "q", "documents": ["a", "b"]}'

    ```python
    from ray import serve
    serve.run(build_app({"model": "/models/reranker", "max_batch_size": 64}), route_prefix="/")
    # POST http://localhost:8000/v1/rerank as with crossrank serve
    ```
"""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import FastAPI
from ray import serve

from crossrank.server.app import create_app
from crossrank.server.settings import ServerSettings
from crossrank.server.state import load_scorer

# Keys of build_app's arguments that are Ray's, not the service's.
_RAY_KEYS = frozenset({"num_replicas", "num_cpus"})


def replica_app(settings: ServerSettings) -> FastAPI:
    """The app one replica serves: the model loaded first, so Ray routes to the replica only when it can score."""
    return create_app(settings, scorer=load_scorer(settings))


def settings_from_args(args: dict[str, Any]) -> ServerSettings:
    """``ServerSettings`` from ``serve run`` arguments (values arrive as strings), the environment filling the rest.

    Example:
        ```python
        settings_from_args({"model": "/models/reranker", "max_batch_size": "64"}).max_batch_size
        # -> 64
        ```
    """
    given = {k: v for k, v in args.items() if k not in _RAY_KEYS}
    # The keys of the deployment crossrank had before Ray Serve mounted the service itself.
    if "batch_wait_timeout_s" in given:
        warnings.warn(
            "build_app's batch_wait_timeout_s is deprecated: each replica batches with the server's "
            "batcher; use max_wait_ms (milliseconds)",
            DeprecationWarning,
            stacklevel=3,
        )
        seconds = given.pop("batch_wait_timeout_s")
        given.setdefault("max_wait_ms", float(seconds) * 1000)
    if "max_batch_requests" in given:
        warnings.warn(
            f"build_app's max_batch_requests={given.pop('max_batch_requests')} is ignored: each replica batches "
            "with the server's batcher, bounded by max_batch_size (documents) and max_batch_tokens",
            DeprecationWarning,
            stacklevel=3,
        )
    unknown = sorted(set(given) - set(ServerSettings.model_fields))
    if unknown:
        raise ValueError(
            f"unknown build_app key(s) {unknown}: use the server's settings "
            f"({', '.join(sorted(ServerSettings.model_fields))}) or {sorted(_RAY_KEYS)}"
        )
    return ServerSettings.from_flags(**given)  # a bad value: SettingsError naming the key


def build_app(args: dict[str, Any]) -> Any:
    """The application for ``serve run crossrank.server.ray_serve:build_app key=value ...``.

    Keys: any ``ServerSettings`` field (``model``, ``backend``, ``device``, ``max_batch_size``,
    ``max_wait_ms``, ``api_key``, ``answer_enabled``, ...; the ``CROSSRANK_SERVER_*``
    environment fills what is not given), and Ray's ``num_replicas`` (default 1) and
    ``num_cpus`` (per replica, default 1).

    Example:
        ```python
        from ray import serve
        serve.run(build_app({"model": "/models/reranker", "num_replicas": 2}), route_prefix="/")
        ```
    """
    settings = settings_from_args(args)

    # Ray takes a plain function (not a partial) as a builder, and runs it on each replica
    # (pickling the settings along with it), so the model loads there.
    def build_replica_app() -> FastAPI:
        return replica_app(settings)

    @serve.ingress(build_replica_app)
    class CrossrankService:
        """One replica of the crossrank service."""

    deployment = serve.deployment(
        name="crossrank",
        num_replicas=int(args.get("num_replicas", 1)),
        ray_actor_options={"num_cpus": float(args.get("num_cpus", 1))},
    )(CrossrankService)
    return deployment.bind()
