"""Request and response bodies of the HTTP API (they generate its OpenAPI schema).

``/v1/rerank`` speaks the Cohere rerank shape, ``/rerank`` the
text-embeddings-inference (TEI) shape, so existing clients of either work unchanged;
crossrank's additions (the fields of ``crossrank.results.FIELDS``, the verdict, the threshold,
the dropped documents) are extra fields those clients ignore.

Example:
    ```python
    CohereRerankRequest(query="q", documents=["a", {"text": "b", "id": 7}]).texts()
    # -> ['a', 'b']
    ```
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crossrank.results import FIELDS

# Characters that show nothing: separators (Z*), controls (Cc) and format characters (Cf:
# zero-width space, zero-width joiner, word joiner, BOM, ...). ``str.strip`` misses Cf.
_INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}


def is_blank(text: str) -> bool:
    """True when ``text`` has nothing to read: only whitespace and zero-width characters.

    Example:
        ```python
        is_blank(" \u200b\u2060\ufeff "), is_blank("a\u200b")
        # -> (True, False)
        ```
    """
    return all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in text)


def _query_not_blank(value: str) -> str:
    if is_blank(value):
        why = ": it has only whitespace or zero-width characters" if value else ""
        raise ValueError(f"query is empty{why}; send the text to rank the documents against")
    return value


class CohereDocument(BaseModel):
    """A document given as an object; ``text`` is scored, other fields are echoed back."""

    model_config = ConfigDict(extra="allow", strict=True)
    text: str = Field(description="The text to score.")


class RelevantSpans(BaseModel):
    """Cohere v2's ``relevant_spans`` option (accepted; crossrank returns no spans)."""

    # extra="allow": the whole option is ignored, so a field Cohere adds later must not break clients.
    model_config = ConfigDict(extra="allow", strict=True)
    mode: Literal["enabled", "disabled"] = Field(description="Cohere: whether to return relevant spans.")
    threshold: float | None = Field(default=None, description="Cohere: the spans' relevance threshold.")
    max_spans: int | None = Field(default=None, ge=1, description="Cohere: most spans per document.")


class CohereRerankRequest(BaseModel):
    """Body of ``POST /v1/rerank`` (and ``/v2/rerank``): Cohere's rerank request plus the relevance gate."""

    # strict: JSON false is not the number 0, "3" is not 3
    model_config = ConfigDict(extra="forbid", strict=True)

    query: str = Field(description="The search query.", examples=["How do I reset my password?"])
    documents: list[str | CohereDocument] = Field(
        description="Candidates: strings, or objects with a 'text' field.",
        examples=[["Click 'Forgot password' on the login screen.", "Our office is closed on Sundays."]],
    )
    model: str | None = Field(
        default=None,
        description="Accepted for Cohere compatibility; the server always uses the model it loaded.",
    )
    top_n: int | None = Field(default=None, ge=1, description="Return at most this many results.")
    return_documents: bool = Field(default=False, description="Echo each result's document back.")
    rank_fields: list[Literal["text"]] | None = Field(
        default=None,
        description="Cohere option; only 'text' is supported (object documents are scored on 'text').",
    )
    max_chunks_per_doc: int | None = Field(
        default=None,
        ge=1,
        description="Accepted for compatibility; long documents are always scored window by window.",
    )
    max_tokens_per_doc: int | None = Field(
        default=None,
        ge=1,
        description="Accepted for compatibility; long documents are always scored window by window.",
    )
    priority: int | None = Field(
        default=None,
        ge=0,
        description="Accepted for Cohere v2 compatibility and ignored: requests are scored in arrival order.",
    )
    relevant_spans: RelevantSpans | None = Field(
        default=None,
        description="Accepted for Cohere v2 compatibility and ignored: results carry no relevant_spans "
        "(Cohere returns them only for models that find spans).",
    )
    min_probability: float | Literal["model", "none"] | None = Field(
        default=None,
        description="crossrank: drop documents below this probability; 'model': the model's recommended "
        "threshold; 'none': ungated; null or absent: the server's setting (CROSSRANK_SERVER_MIN_PROBABILITY).",
    )
    min_relative: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="crossrank: drop documents below this fraction of the best probability.",
    )
    min_keep: int | None = Field(
        default=None,
        ge=0,
        description="crossrank: always keep this many best documents (flagged passed_threshold=false).",
    )

    _check_query = field_validator("query")(_query_not_blank)

    @field_validator("documents", mode="before")
    @classmethod
    def _strings_or_text_objects(cls, value: Any) -> Any:
        # One clear message per bad document instead of one error per union member.
        if isinstance(value, list):
            for position, doc in enumerate(value):
                if isinstance(doc, str):
                    continue
                if isinstance(doc, dict) and isinstance(doc.get("text"), str):
                    continue
                got = "an object without a 'text' string" if isinstance(doc, dict) else type(doc).__name__
                raise ValueError(
                    f"documents[{position}] must be a string or an object with a 'text' string, got {got}"
                )
        return value

    @field_validator("min_probability")
    @classmethod
    def _probability_in_range(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, float) and not 0.0 <= value <= 1.0:
            raise ValueError(f"min_probability must be in [0, 1], 'model' or 'none', got {value!r}")
        return value

    def texts(self) -> list[str]:
        """The text of every document, in input order."""
        return [d if isinstance(d, str) else d.text for d in self.documents]


class CohereResultDocument(BaseModel):
    """The document echoed back when ``return_documents`` is true."""

    model_config = ConfigDict(extra="allow")
    text: str


def _field(name: str, **kwargs: Any) -> Any:
    # Every crossrank field is described once, in crossrank.results.FIELDS.
    return Field(description=FIELDS[name], **kwargs)


def _deprecated(name: str, **kwargs: Any) -> Any:
    # Marked deprecated in the OpenAPI schema only: pydantic's own deprecated=True warns on
    # every access, which costs each response about a millisecond (bench: 1-document rerank).
    return Field(
        json_schema_extra={"deprecated": True},
        description=f"Deprecated: the same value as {name}; sent for one more release.",
        **kwargs,
    )


RESPONSE_CONFIG = ConfigDict(extra="forbid")
"""The response models' config: extra keys are refused, so a field a builder adds without
declaring it here fails every test of its route instead of vanishing from the answer."""


class RankedResult(BaseModel):
    """One document of a rerank answer, in crossrank's field vocabulary (``crossrank.results.FIELDS``)."""

    model_config = RESPONSE_CONFIG

    index: int = _field("index")
    relevance_score: float = _field("relevance_score")
    relevance_logit: float = _field("relevance_logit")
    rerank_rank: int = _field("rerank_rank")
    rerank_windows: int = _field("rerank_windows")
    passed_threshold: bool = _field("passed_threshold")
    fused_score: float | None = _field("fused_score", default=None)
    # The names these bodies used before they took the vocabulary; see responses.DEPRECATED_ALIASES.
    logit: float = _deprecated("relevance_logit")
    windows: int = _deprecated("rerank_windows")
    rank: int = _deprecated("rerank_rank")
    passed: bool = _deprecated("passed_threshold")


class CohereRerankResult(RankedResult):
    """One kept document, best first."""

    document: CohereResultDocument | None = Field(
        default=None, description="The document, if return_documents was true."
    )


class DroppedResult(RankedResult):
    """A document the relevance gate dropped, with the reason (nothing is dropped silently)."""

    drop_reason: str = _field("drop_reason")


class ApiVersion(BaseModel):
    version: str = "1"


class RerankMeta(BaseModel):
    """Cohere's ``meta`` block, plus the model that scored."""

    model_config = ConfigDict(extra="allow")
    api_version: ApiVersion = Field(default_factory=ApiVersion)
    model: str | None = Field(default=None, description="crossrank: the model that produced the scores.")


class CohereRerankResponse(BaseModel):
    """Response of ``POST /v1/rerank``: Cohere's shape plus crossrank's verdict."""

    model_config = RESPONSE_CONFIG

    id: str = Field(description="Request id (also in the X-Request-Id header).")
    results: list[CohereRerankResult] = Field(description="Kept documents, best first.")
    meta: RerankMeta
    verdict: Literal["relevant", "weak", "none", "ungated"] = Field(
        description="crossrank: relevant, weak, none, or ungated (no threshold applied)."
    )
    threshold: float | None = Field(description="crossrank: the min_probability applied (null: ungated).")
    threshold_source: Literal["user", "model", "fitted", "none"] = Field(
        description="crossrank: where the threshold came from: the request or server setting (user), the "
        "model's recommended threshold (model), one fitted by crossrank calibrate (fitted), or none."
    )
    dropped: list[DroppedResult] = Field(
        default_factory=list,
        description="crossrank: every document not in results (below a threshold or beyond top_n), and why.",
    )


class TeiRerankRequest(BaseModel):
    """Body of ``POST /rerank`` in the text-embeddings-inference shape."""

    # strict: JSON false is not the number 0, "3" is not 3
    model_config = ConfigDict(extra="forbid", strict=True)

    query: str = Field(description="The search query.", examples=["What is Deep Learning?"])
    texts: list[str] = Field(
        description="Candidate texts.", examples=[["Deep Learning is ...", "Cheese is ..."]]
    )
    raw_scores: bool = Field(default=False, description="Return raw logits instead of probabilities.")
    return_text: bool = Field(default=False, description="Echo each text back.")
    truncate: bool | None = Field(
        default=None,
        description="Accepted for compatibility; long texts are always scored window by window, never cut.",
    )
    truncation_direction: Literal["Left", "Right", "left", "right"] | None = Field(
        default=None, description="Accepted for compatibility (see truncate)."
    )

    _check_query = field_validator("query")(_query_not_blank)


class TeiRank(BaseModel):
    """One text with its score, best first."""

    index: int
    score: float = Field(description="Probability in [0, 1], or the raw logit when raw_scores is true.")
    text: str | None = None


class ErrorBody(BaseModel):
    """Every error answer: a human message, and the machine-readable detail."""

    message: str = Field(description="What was wrong and where, in one sentence.")
    detail: Any = Field(
        default=None, description="FastAPI-style detail (a list of located errors for 4xx on input)."
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not valid JSON."},
    401: {"model": ErrorBody, "description": "The server has an API key and the request did not send it."},
    413: {
        "model": ErrorBody,
        "description": "The body is larger than CROSSRANK_SERVER_MAX_BODY_BYTES, or the request needs more "
        "model time than CROSSRANK_SERVER_REQUEST_TIMEOUT_S allows.",
    },
    415: {"model": ErrorBody, "description": "The body is not sent as application/json."},
    422: {
        "model": ErrorBody,
        "description": "A field is missing, has the wrong type, breaks a limit, or holds a non-finite "
        "number or invalid Unicode.",
    },
    429: {
        "model": ErrorBody,
        "description": "The batch queue is full, or the work queued ahead would not be done before the "
        "request timeout; retry after the Retry-After seconds.",
    },
    503: {"model": ErrorBody, "description": "Timed out, model still loading, or shutting down."},
}
"""The error answers every scoring route may give, as documented in the OpenAPI schema."""


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    model: str | None = None
    checks: dict[str, str] = Field(default_factory=dict, description="Each check: 'ok' or what is wrong.")
