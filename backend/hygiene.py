"""Input hygiene in one place: what no text field, integer or cursor may carry into storage.

* Text: PostgreSQL refuses NUL in ``text`` and no UTF-8 codec encodes a lone surrogate, so
  either would reach the database as an unhandled driver error. Every request body and
  WebSocket frame derives from ``CleanModel``, which refuses them in any string it holds
  (nested lists and dicts too); path and query strings are checked by ``RejectBadBytes``.
* Integers: the database's ids are BIGINT, so every integer parameter is bounded to int64
  (``Int64``, ``PositiveId``); a bigger one is a 422, never a driver's "out of range" 500.
* Event cursors (``resume.after``) must look like a stream id ("0", "ms" or "ms-seq").
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

Int64 = Annotated[int, Field(ge=-(2**63), le=INT64_MAX)]
PositiveId = Annotated[int, Field(ge=1, le=INT64_MAX)]
Offset = Annotated[int, Field(ge=0, le=INT64_MAX)]

_BAD_CODE_POINTS = re.compile("[\x00\ud800-\udfff]")
_CURSOR = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored (None: it can)."""
    match = _BAD_CODE_POINTS.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "text must not contain NUL characters"
    return "text must not contain unpaired surrogate code points"


def check_text(value: Any) -> Any:
    """Raise ValueError if ``value`` (or any string inside it) holds a code point we refuse."""
    if isinstance(value, str):
        if (problem := text_problem(value)) is not None:
            raise ValueError(problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_text(item)
    return value


class CleanModel(BaseModel):
    """A request body or client frame: no field may hold NUL or an unpaired surrogate."""

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        return check_text(value)


def encodable(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD, so it can be sent back as JSON
    (a validation error echoes the input it refused)."""
    if isinstance(value, str):
        return (
            value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            if _BAD_CODE_POINTS.search(value)
            else value
        )
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(v) for v in value]
    return value


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422, with the refused input made encodable (its handler fails on a lone surrogate)."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": encodable(jsonable_encoder(exc.errors()))}, status_code=422)


def valid_cursor(cursor: str) -> bool:
    """Whether ``cursor`` is a stream event id a broker accepts ("0", "<ms>" or "<ms>-<seq>")."""
    match = _CURSOR.match(cursor)
    return match is not None and all(int(part) <= UINT64_MAX for part in match.groups() if part is not None)


class RejectBadBytes:
    """ASGI middleware: a path or query string carrying NUL or invalid UTF-8 is refused up front.

    HTTP gets a 422 in FastAPI's validation shape; a WebSocket is refused before it is accepted.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (problem := _scope_problem(scope)) is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": problem})
                return
            body = json.dumps({"detail": [{"type": "value_error", "loc": ["request"], "msg": problem, "input": None}]})
            await send(
                {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await self.app(scope, receive, send)


def _scope_problem(scope: Scope) -> str | None:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    for where, raw in (("path", raw_path), ("query string", scope.get("query_string", b""))):
        decoded = unquote_to_bytes(raw.replace(b"+", b" ") if where == "query string" else raw)
        if b"\x00" in decoded:
            return f"the {where} must not contain NUL characters"
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return f"the {where} must be valid UTF-8"
    return None
