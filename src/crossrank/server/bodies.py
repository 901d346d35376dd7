"""Strict JSON request bodies: JSON content only, finite numbers, valid Unicode.

Python's ``json`` module, which FastAPI parses bodies with, accepts what RFC 8259
does not: the tokens ``NaN``, ``Infinity`` and ``-Infinity``, numbers such as
``1e400`` that overflow to infinity, and ``"\\ud800"`` escapes that decode to lone
UTF-16 surrogates. None of them can be scored or written back as JSON: a non-finite
number in an error message broke the error handler (500), one echoed in a document
came back as ``null``, and a lone surrogate made the tokenizer raise. ``StrictJsonRoute``
checks every body before FastAPI validates it and answers:

* 415 when a body is sent without a JSON content type;
* 422 naming the field, its position and the value for each non-finite number or
  invalid string (``documents[2].text: lone surrogate '\\ud800' at character 5 ...``);
* 400 for a body that is not UTF-8 or not JSON (malformed JSON keeps FastAPI's
  located 400).

Example:
    ```python
    [p.location for p in find_invalid(parse_json(b'{"documents": ["ok", "\\\\ud800"], "top_n": NaN}'))]
    # -> ['documents[1]', 'top_n']
    ```
"""

from __future__ import annotations

import email.message
import json
import math
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from crossrank.server.errors import location

# Enough to fix a body; a body with a million NaNs does not get a million-entry answer.
MAX_REPORTED = 20
# Python refuses to parse integers longer than this (int_max_str_digits); reported, not raised.
_MAX_INT_DIGITS = 4300


@dataclass(frozen=True)
class BadNumber:
    """A JSON number token that has no finite float value (kept as written, for the message)."""

    token: str

    @property
    def reason(self) -> str:
        if self.token in ("NaN", "Infinity", "-Infinity"):
            return f"{self.token} is not a JSON number; send a finite number"
        return f"{self.token:.40} is out of range (it is not a finite number); send a finite number"


@dataclass(frozen=True)
class BodyProblem:
    """One value of a body that cannot be accepted, where it is and why."""

    loc: tuple[str | int, ...]
    message: str
    value: str  # the value as the client wrote it (escaped), safe to put in a JSON answer
    kind: str  # "finite_number" or "unicode"

    @property
    def location(self) -> str:
        return location(("body", *self.loc))

    def as_error(self) -> dict[str, Any]:
        """A FastAPI-style located error (the ``detail`` entries of a 422)."""
        return {"type": self.kind, "loc": ["body", *self.loc], "msg": self.message, "input": self.value}


def _number(token: str) -> float | BadNumber:
    value = float(token)
    return value if math.isfinite(value) else BadNumber(token)


def _integer(token: str) -> int | BadNumber:
    digits = len(token) - token.startswith("-")
    return int(token) if digits <= _MAX_INT_DIGITS else BadNumber(f"{token[:20]}... ({digits} digits)")


def parse_json(body: bytes) -> Any:
    """Parse like ``json.loads``, but keep bad numbers as ``BadNumber`` instead of floats.

    Raises:
        json.JSONDecodeError: The body is not JSON.
        UnicodeDecodeError: The body is not UTF-8 (or UTF-16/32, which JSON also allows).
    """
    return json.loads(body, parse_constant=BadNumber, parse_float=_number, parse_int=_integer)


def _surrogate(text: str) -> tuple[int, str] | None:
    """``(character index, escaped surrogate)`` of the first lone surrogate in ``text``."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start, text[exc.start].encode("unicode_escape").decode("ascii")
    return None


def _escaped(text: str, limit: int = 60) -> str:
    shown = text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")
    return shown + ("..." if len(text) > limit else "")


def _string_problem(loc: tuple[str | int, ...], text: str, what: str) -> BodyProblem | None:
    found = _surrogate(text)
    if found is None:
        return None
    index, escaped = found
    return BodyProblem(
        loc,
        f"{what} has a lone surrogate '{escaped}' at character {index}, which is not a Unicode character; "
        "send valid UTF-8 text (a \\uD800-\\uDFFF escape must be half of a surrogate pair)",
        _escaped(text),
        "unicode",
    )


def find_invalid(value: Any, limit: int = MAX_REPORTED) -> list[BodyProblem]:
    """Every non-finite number and invalid string in a ``parse_json`` result, in document order.

    Example:
        ```python
        find_invalid(parse_json(b'{"a": [1, 1e400]}'))[0].location
        # -> 'a[1]'
        ```
    """
    problems: list[BodyProblem] = []
    for loc, item, is_key in _walk(value):
        if isinstance(item, BadNumber):
            problems.append(BodyProblem(loc, item.reason, item.token, "finite_number"))
        elif isinstance(item, str):
            problem = _string_problem(loc, item, "the field name" if is_key else "the text")
            if problem is not None:
                problems.append(problem)
        if len(problems) >= limit:
            break
    return problems


def _walk(value: Any) -> Iterator[tuple[tuple[str | int, ...], Any, bool]]:
    # Iterative: a deeply nested body must not hit Python's recursion limit here.
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, dict):
            children: list[tuple[tuple[str | int, ...], Any]] = []
            for key, child in item.items():
                where = (*loc, _escaped(key))
                yield where, key, True
                children.append((where, child))
            stack.extend(reversed(children))  # reversed: popped in document order
        elif isinstance(item, list):
            stack.extend(((*loc, i), child) for i, child in reversed(list(enumerate(item))))
        else:
            yield loc, item, False


def is_json_content_type(value: str | None) -> bool:
    """``application/json`` or ``application/<anything>+json`` (the rule FastAPI parses bodies by)."""
    if not value:
        return False
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def check_body(body: bytes, content_type: str | None) -> None:
    """Refuse a body that is not strict JSON; return quietly when FastAPI may parse it.

    Raises:
        HTTPException: 415 (not a JSON content type) or 400 (not UTF-8, nested too deeply).
        RequestValidationError: 422, one located error per non-finite number or invalid string.
    """
    if not body:
        return  # FastAPI reports the missing body itself (422 naming "body")
    if not is_json_content_type(content_type):
        got = f"'{content_type}'" if content_type else "no Content-Type"
        raise HTTPException(
            415,
            f"the body must be JSON: send the header 'Content-Type: application/json' (got {got})",
        )
    try:
        parsed = parse_json(body)
    except json.JSONDecodeError:
        return  # FastAPI answers 400 with the position
    except UnicodeDecodeError as exc:
        raise HTTPException(
            400, f"request body is not valid UTF-8: byte 0x{body[exc.start]:02x} at position {exc.start}"
        ) from None
    except RecursionError:
        raise HTTPException(400, "request body is nested too deeply to parse") from None
    problems = find_invalid(parsed)
    if problems:
        raise RequestValidationError([p.as_error() for p in problems], body=None)


class StrictJsonRoute(APIRoute):
    """An ``APIRoute`` that runs ``check_body`` on the body before FastAPI parses and validates it.

    Set it as ``app.router.route_class`` before adding routes; routes without a body
    (health, metrics) are left as they are.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict_handler(request: Request) -> Response:
            # request.body() caches the bytes, so FastAPI's own parse reads them again for free.
            check_body(await request.body(), request.headers.get("content-type"))
            return await handler(request)

        return strict_handler
