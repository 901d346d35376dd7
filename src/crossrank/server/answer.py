"""The service behind ``POST /v1/answer`` (route in ``server/routes/answer.py``) and its request and response models.

The work is ``crossrank.rag.pipeline.RagPipeline``; ``AnswerService`` only builds it in the
background (so a Qdrant that is down at start-up does not stop the rerank
endpoints) and reports its health to ``/readyz``; the route maps its failures to statuses.
The rerank step goes through the server's dynamic batcher, like ``/v1/rerank``: it
shares batches with rerank requests and answers 429 / 413 / 503 by the same rules
(queue full or overloaded, too much work, the request timeout).

* Qdrant unreachable, collection missing, pipeline still loading -> 503 with the reason
* answer not ready within ``answer_timeout_s`` (CROSSRANK_SERVER_ANSWER_TIMEOUT_S) -> 503
* the generator failing or timing out (``generation_timeout_s``) -> 200 with
  ``answered: false``, ``generation_error`` and the sources (the pipeline's own
  answer: the relevant passages are still worth returning)

Example:
    ```python
    from crossrank.rag.settings import RagSettings
    service = AnswerService(RagSettings(generator="extractive"))
    service.ready
    # -> False
    ```
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crossrank.rag.pipeline import Source
from crossrank.server.schemas import RESPONSE_CONFIG, is_blank

log = logging.getLogger("crossrank.server")


class AnswerRequest(BaseModel):
    """Body of ``POST /v1/answer``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    question: str = Field(description="The question.", examples=["How do I reset my password?"])
    include_trace: bool = Field(
        default=False, description="Add the full trace: every candidate, its ranks and timings."
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if is_blank(value):
            why = ": it has only whitespace or zero-width characters" if value else ""
            raise ValueError(f"question is empty{why}; send the question to answer")
        return value


class KeywordMatch(BaseModel):
    """A keyword match (``crossrank.rag.keywords.KeywordHit.to_dict``)."""

    model_config = RESPONSE_CONFIG  # a field Answer.to_dict gains must be declared here
    rank: int
    score: float
    source: str | None = None
    title: str | None = None
    chunk_index: int | None = None
    text: str | None = None


class AnswerResponse(BaseModel):
    """The pipeline's answer (``crossrank.rag.pipeline.Answer.to_dict``)."""

    model_config = RESPONSE_CONFIG  # a field Answer.to_dict gains must be declared here

    question: str
    verdict: str = Field(description="relevant, weak, none or ungated.")
    answered: bool
    answer: str | None
    warning: str | None
    message: str | None
    generation_error: str | None
    best_probability: float | None
    threshold: float | None = Field(description="The relevance threshold applied (null: ungated).")
    threshold_source: str = Field(
        description="user, model (the reranker's recommended threshold), fitted or none."
    )
    generator: str
    # The pipeline's own type: the schema cannot drift from what the pipeline returns.
    sources: list[Source]
    fallback: list[KeywordMatch]
    trace: dict[str, Any] | None = None


class AnswerService:
    """Owns the ``RagPipeline`` of one server process.

    Args:
        rag_settings: Store, collection, gate and generator settings (``RagSettings``).
        pipeline: An already built pipeline; ``None`` builds one at ``start()``.
        retry_s: While Qdrant is unreachable at start-up, retry this often (doubling, at most 30 s).
    """

    def __init__(self, rag_settings: Any, pipeline: Any = None, *, retry_s: float = 2.0) -> None:
        self.rag_settings = rag_settings
        self.pipeline = pipeline
        self.error: str | None = None
        self._retry_s = retry_s
        self._builder: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, server_settings: Any) -> AnswerService:
        """RAG settings from the environment, with the server's reranker (so both share one model)."""
        from crossrank.rag.settings import RagSettings

        overrides = {
            "model": server_settings.model,
            "backend": server_settings.backend,
            "device": server_settings.device,
        }
        return cls(RagSettings(**{k: v for k, v in overrides.items() if v is not None}))

    @property
    def ready(self) -> bool:
        return self.pipeline is not None

    async def start(self) -> None:
        if self.pipeline is None and self._builder is None:
            self._builder = asyncio.create_task(self._build())

    async def stop(self) -> None:
        if self._builder is not None and not self._builder.done():
            self._builder.cancel()
        if self.pipeline is not None:
            await asyncio.to_thread(self.pipeline.close)

    async def _build(self) -> None:
        from crossrank.rag.pipeline import RagPipeline

        delay = self._retry_s
        while True:
            try:
                pipeline = await asyncio.to_thread(RagPipeline.from_settings, self.rag_settings)
                await asyncio.to_thread(pipeline.warm_up)
            except Exception as exc:  # noqa: BLE001 - reported by /readyz and /v1/answer; retried (Qdrant may come up later)
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("answer pipeline not ready (retrying in %.0f s): %s", delay, self.error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.pipeline, self.error = pipeline, None
            log.info("answer pipeline ready: %s", self.rag_settings.describe_store())
            return

    async def check(self, timeout_s: float) -> dict[str, str]:
        """Readiness of Qdrant and the collection: ``{"qdrant": "ok"}`` or what is wrong."""
        if self.pipeline is None:
            return {"qdrant": f"unavailable: {self.error}" if self.error else "connecting"}
        store = self.pipeline.store
        try:
            exists = await asyncio.wait_for(asyncio.to_thread(store.exists), timeout_s)
        except asyncio.TimeoutError:
            return {"qdrant": f"unreachable: {store.where} did not answer within {timeout_s:g} s"}
        except Exception as exc:  # noqa: BLE001
            return {"qdrant": f"unreachable: {store.where}: {type(exc).__name__}: {exc}"}
        if not exists:
            return {
                "qdrant": f"no collection {store.collection!r} in {store.where}: run `crossrank ingest` first"
            }
        return {"qdrant": "ok"}
