"""Settings of the rerank and answer service, read from ``CROSSRANK_SERVER_*`` environment variables.

Every field has one environment variable, ``CROSSRANK_SERVER_`` plus the field name in
capitals (``max_batch_size`` -> ``CROSSRANK_SERVER_MAX_BATCH_SIZE``), and most have a
``crossrank serve`` flag (``--max-batch-size``). Flags win over environment variables,
which win over the defaults. The RAG app reads its own ``CROSSRANK_RAG_*`` variables
(the answer endpoint's store, gate and generator), so none of them reaches the rerank
endpoints. The old un-prefixed names (``CROSSRANK_MAX_BATCH_SIZE``) are still read for
one release, with a deprecation warning, when the new name is not set
(``crossrank.env``). The docker-compose files set the same variables.

Example:
    ```python
    settings = ServerSettings(model="/models/my-reranker", max_batch_size=64)
    settings.max_batch_size, settings.port
    # -> (64, 8080)
    ```
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from crossrank.env import CrossrankSettings
from crossrank.policy import MODEL_THRESHOLD, ThresholdChoice


class ServerSettings(CrossrankSettings):
    """What ``crossrank serve`` and ``create_app`` are configured with.

    Example:
        ```python
        import os
        os.environ["CROSSRANK_SERVER_MAX_DOCUMENTS"] = "250"
        ServerSettings().max_documents
        # -> 250
        del os.environ["CROSSRANK_SERVER_MAX_DOCUMENTS"]
        ```
    """

    # Empty variables mean "use the default", as in docker-compose.yml (${VAR:-}).
    model_config = SettingsConfigDict(
        env_prefix="CROSSRANK_SERVER_", extra="ignore", validate_default=True, env_ignore_empty=True
    )

    # -- the model ------------------------------------------------------------------
    model: str | None = Field(
        default=None, description="Reranker: local directory or hub id; empty for the shipped default."
    )
    backend: str = Field(
        default="auto",
        description="Scoring backend: auto (onnx int8 on a CPU, torch on a GPU), onnx or torch.",
    )
    device: str = Field(default="auto", description="Device: auto, cpu, cuda, mps.")
    batch_size: int | None = Field(
        default=None, ge=1, description="Windows per model call; empty for the backend default."
    )
    max_length: int | None = Field(
        default=None, ge=8, description="Window size in tokens; empty for the model's limit."
    )
    cache_size: int = Field(default=0, ge=0, description="Entries in the score cache (0: off).")

    # -- HTTP -----------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Interface to bind; 0.0.0.0 inside a container.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port to bind (0: any free port).")
    api_key: SecretStr | None = Field(
        default=None, description="If set, every rerank/answer request needs 'Authorization: Bearer <key>'."
    )
    log_level: str = Field(default="info", description="uvicorn log level.")
    graceful_shutdown_s: float = Field(
        default=30.0, gt=0, description="On SIGTERM, wait this long for in-flight requests before closing."
    )

    # -- dynamic batching -----------------------------------------------------------
    max_batch_size: int = Field(
        default=64, ge=1, description="Most documents merged into one model batch across concurrent requests."
    )
    max_batch_tokens: int = Field(
        default=16_384,
        ge=1,
        description="Most tokens (query + passage, estimated at 4 characters a token) in one model batch; "
        "bounds how long one turn of the model takes however long the passages are.",
    )
    max_wait_ms: float = Field(
        default=5.0, ge=0, description="How long the first request of a batch waits for company."
    )
    max_queue: int = Field(
        default=256, ge=1, description="Requests waiting for the model; beyond it requests get 429."
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, description="A rerank request not scored by then gets 503."
    )
    admit_fraction: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Admission control: a request is refused at once (429, Retry-After) when the work "
        "ahead of it, at the measured model speed, would take more than this fraction of the request "
        "timeout, and with 413 when its own work would take more than the timeout divided by it; "
        "0 turns it off (requests then wait and may time out with 503). 0.7 rather than closer to 1: "
        "under 256 clients the wait came out up to a third longer than estimated (the event loop "
        "answering refusals takes time from the model), and at 0.8 0.5 % of requests still timed out.",
    )

    # -- limits ---------------------------------------------------------------------
    max_documents: int = Field(default=1000, ge=1, description="Most documents in one request.")
    max_document_chars: int = Field(default=20_000, ge=1, description="Most characters in one document.")
    max_request_chars: int = Field(
        default=1_000_000, ge=1, description="Most characters in one request (query + documents)."
    )
    max_query_chars: int = Field(default=2_000, ge=1, description="Most characters in a query.")
    max_body_bytes: int = Field(
        default=8_000_000,
        ge=1024,
        description="Largest request body accepted at all; larger bodies get 413 unread.",
    )

    # -- the relevance gate (defaults; a request may override) ----------------------
    min_probability: ThresholdChoice = Field(
        default=MODEL_THRESHOLD,
        description="Default absolute threshold: model (the model's recommended threshold, as every crossrank "
        "surface), a probability, or none (keep every document, Cohere's behaviour; verdict ungated).",
    )
    min_relative: float | None = Field(default=None, ge=0, le=1, description="Default relative threshold.")
    min_keep: int = Field(default=0, ge=0, description="Default fail-open floor of kept documents.")

    # -- the answer endpoint --------------------------------------------------------
    answer_enabled: bool = Field(
        default=False, description="Serve POST /v1/answer (needs the RAG settings: Qdrant and a collection)."
    )
    answer_timeout_s: float = Field(
        default=60.0, gt=0, description="An answer not produced by then gets 503."
    )
    readiness_timeout_s: float = Field(default=2.0, gt=0, description="How long /readyz waits for Qdrant.")

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_no_key(cls, value: object) -> object:
        # `--api-key ""` and CROSSRANK_SERVER_API_KEY= both mean "no key"; an empty key would
        # otherwise refuse every client, since none can send an empty Bearer token.
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _check(self) -> ServerSettings:
        if self.max_document_chars > self.max_request_chars:
            raise ValueError(
                f"max_document_chars ({self.max_document_chars}) must not exceed "
                f"max_request_chars ({self.max_request_chars})"
            )
        return self
