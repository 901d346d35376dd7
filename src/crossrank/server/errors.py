"""Clear error answers: every 4xx/5xx body says what was wrong and where.

Every error body is ``{"message": "...", "detail": ...}``: ``message`` is one human
sentence (Cohere clients read it), ``detail`` keeps FastAPI's located errors for
input problems. Malformed JSON is 400; a well-formed body that breaks the schema or
a limit is 422; a body over ``max_body_bytes`` is 413, refused before it is read.

Example:
    ```python
    LimitExceeded(("body", "documents", 3), "too long").location
    # -> 'documents[3]'
    ```
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crossrank.server.metrics import request_info

log = logging.getLogger("crossrank.server")


def location(loc: Sequence[Any]) -> str:
    """``("body", "documents", 3, "text")`` -> ``"documents[3].text"`` (the field a user wrote).

    Example:
        ```python
        location(("body", "documents", 3, "text"))
        # -> 'documents[3].text'
        ```
    """
    parts = [p for p in loc if p != "body"] if len(loc) > 1 else list(loc)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


class LimitExceeded(Exception):
    """A request over a configured limit (422, naming the field and the setting)."""

    def __init__(self, loc: Sequence[Any], message: str, kind: str = "limit") -> None:
        super().__init__(message)
        self.loc = tuple(loc)
        self.message = message
        self.kind = kind

    @property
    def location(self) -> str:
        return location(self.loc)


def encodable(value: Any) -> Any:
    """``value`` with what strict JSON cannot carry made printable: NaN and infinities become
    strings, lone surrogates become backslash escapes.

    Error details echo the client's input, and an answer that cannot be encoded would
    turn a 4xx into a 500.

    Example:
        ```python
        encodable({"x": [float("nan"), "a\\ud800"]})
        # -> {'x': ['nan', 'a\\\\ud800']}
        ```
    """
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encodable(v) for v in value]
    return value


def error_response(
    status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error body shape."""
    return JSONResponse(
        {
            "message": encodable(message),
            "detail": encodable(jsonable_encoder(detail if detail is not None else message)),
        },
        status_code=status,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Give validation, limit and HTTP errors the one error body shape."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        for error in errors:
            if error.get("type") == "json_invalid":
                where = error.get("loc", ("body", "?"))[-1]
                reason = (error.get("ctx") or {}).get("error", "invalid JSON")
                return error_response(
                    400, f"request body is not valid JSON: {reason} at position {where}", errors
                )
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        reason = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        message = f"{location(first.get('loc', ('body',)))}: {reason}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        return error_response(422, message, errors)

    @app.exception_handler(LimitExceeded)
    async def _limit(request: Request, exc: LimitExceeded) -> JSONResponse:
        if exc.kind == "limit":  # a configured limit, not a plain value error (min_keep > top_n)
            request_info(request.scope).reason = "limit"
        detail = [{"loc": list(exc.loc), "msg": exc.message, "type": exc.kind}]
        return error_response(422, f"{exc.location}: {exc.message}", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(exc.status_code, message, exc.detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: still the one JSON shape (clients parse it), never a bare
        # text/plain 500. Starlette re-raises after sending this, so the server log keeps
        # the traceback.
        return error_response(500, f"internal server error ({type(exc).__name__}); see the server log")


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413 before reading them into memory.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body
    is counted as it arrives and refused as soon as it crosses the limit.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes (CROSSRANK_SERVER_MAX_BODY_BYTES)"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, self._message())(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise StarletteHTTPException(413, self._message())
            return message

        await self.app(scope, counting_receive, send)
