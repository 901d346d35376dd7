"""``crossrank serve``: run the rerank and answer service.

Every flag has an environment variable of the same name (``--max-batch-size`` ->
``CROSSRANK_SERVER_MAX_BATCH_SIZE``); a flag given on the command line wins. Settings
without a flag (``CROSSRANK_SERVER_MAX_BODY_BYTES``, ...) are read from the environment.

Example:
    $ crossrank serve --model ./models/reranker --port 8080 --max-batch-size 64
    $ CROSSRANK_SERVER_API_KEY=s3cret crossrank serve --host 0.0.0.0
"""

from __future__ import annotations

from typing import Any

import typer


def settings_from_flags(**flags: Any) -> Any:
    """``ServerSettings`` from the flags that were given; the rest from the environment.

    Example:
        ```python
        settings_from_flags(port=9000, model=None).port
        # -> 9000
        ```
    """
    from crossrank.env import SettingsError
    from crossrank.server.settings import ServerSettings

    try:
        return ServerSettings.from_flags(**flags)
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None


# The help of `crossrank serve`: the docstring, then where the settings come from (one
# paragraph, no line breaks: rich keeps them). The variable names are too long for the
# flags' help column, which would cut them.
SERVE_ENV_HELP = (
    "Every setting is also an environment variable, CROSSRANK_SERVER_ plus its name in capitals "
    "(--max-batch-size: CROSSRANK_SERVER_MAX_BATCH_SIZE, --answer: CROSSRANK_SERVER_ANSWER_ENABLED); "
    "a flag given wins. The answer endpoint's store, gate and generator are the RAG app's "
    "CROSSRANK_RAG_* settings. docs/server.md lists them all."
)


def serve_command(
    model: str | None = typer.Option(None, help="Reranker directory or hub id."),
    backend: str | None = typer.Option(
        None, help="auto (onnx int8 on a CPU, torch on a GPU), onnx or torch."
    ),
    device: str | None = typer.Option(None, help="auto, cpu, cuda, mps."),
    host: str | None = typer.Option(None, help="Interface to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8080)."),
    api_key: str | None = typer.Option(
        None, help="Require 'Authorization: Bearer <key>' (prefer the environment variable)."
    ),
    max_batch_size: int | None = typer.Option(
        None, help="Most documents per shared model batch (default 64)."
    ),
    max_batch_tokens: int | None = typer.Option(
        None,
        help="Most estimated tokens per shared model batch (default 16384).",
    ),
    max_wait_ms: float | None = typer.Option(
        None, help="How long a batch waits for more requests (default 5)."
    ),
    max_queue: int | None = typer.Option(None, help="Waiting requests before 429 (default 256)."),
    request_timeout_s: float | None = typer.Option(
        None, help="Seconds before a rerank request gets 503 (default 30)."
    ),
    max_documents: int | None = typer.Option(None, help="Documents per request (default 1000)."),
    max_document_chars: int | None = typer.Option(None, help="Characters per document (default 20000)."),
    max_request_chars: int | None = typer.Option(None, help="Characters per request (default 1000000)."),
    min_probability: str | None = typer.Option(
        None,
        help="Default relevance threshold for /v1/rerank: a probability, model or none "
        "(default model: the model's recommended threshold).",
    ),
    cache_size: int | None = typer.Option(None, help="Score cache entries (default 0)."),
    answer: bool | None = typer.Option(
        None,
        "--answer/--no-answer",
        help="Serve POST /v1/answer (default off).",
    ),
    log_level: str | None = typer.Option(None, help="uvicorn log level (default info)."),
) -> None:
    """Serve reranking (Cohere and TEI shapes), answers, health checks and Prometheus metrics over HTTP."""
    settings = settings_from_flags(
        model=model,
        backend=backend,
        device=device,
        host=host,
        port=port,
        api_key=api_key,
        max_batch_size=max_batch_size,
        max_batch_tokens=max_batch_tokens,
        max_wait_ms=max_wait_ms,
        max_queue=max_queue,
        request_timeout_s=request_timeout_s,
        max_documents=max_documents,
        max_document_chars=max_document_chars,
        max_request_chars=max_request_chars,
        min_probability=min_probability,
        cache_size=cache_size,
        answer_enabled=answer,
        log_level=log_level,
    )
    from crossrank.server.listen import CannotListenError, listening_socket

    # Bound before the server, the app and the model are even imported: a busy port is
    # one line and exit status 1 within a second, not a traceback after the model loaded.
    try:
        sock = listening_socket(settings.host, settings.port)
    except CannotListenError as exc:
        typer.echo(f"crossrank serve: {exc}", err=True)
        raise typer.Exit(1) from None
    from crossrank.server.run import serve

    serve(settings, sock)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``crossrank`` command line."""
    app.command("serve", help=_serve_help())(serve_command)


def _serve_help() -> str:
    return f"{(serve_command.__doc__ or '').strip()}\n\n{SERVE_ENV_HELP}"


def main() -> None:
    """``python -m crossrank.server``: the ``serve`` command on its own."""
    app = typer.Typer(add_completion=False)  # what typer.run builds, with the full help
    app.command(help=_serve_help())(serve_command)
    app()
