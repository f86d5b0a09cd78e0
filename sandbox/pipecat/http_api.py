"""HTTP pieces of the Pipecat Cloud simulator: error bodies, query parsing, injected faults.

Error bodies copy tests/fixtures/pipecat/error-*.json, so the client is tested against what the
real API sends, not against what we wish it sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Literal, overload

from starlette.responses import JSONResponse, Response
from starlette.types import Receive

UNAUTHORIZED_BODY = {"error": "Unauthorized / token expired", "code": "401"}
SESSION_NOT_FOUND_BODY = {"error": "Session not found", "code": "NOT_FOUND"}
SERVICE_NOT_FOUND_BODY = {"error": "Service not found", "code": "NOT_FOUND"}
RATE_LIMITED_BODY = {"status": 429, "code": "429", "message": "Rate limit exceeded. Please try again later"}
SERVER_ERROR_BODY = {
    "error": "Internal server error. Please check logs for more information or contact support.",
    "code": "500",
}
#: A truncated JSON document: what a proxy cutting a response short produces.
MALFORMED_BODY = b'{"total_count": 3, "sessions": [{"sessionId": "'


class SimNotFound(LookupError):
    """A handler's 404, answered with the API's own body."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["error"])
        self.body = body


#: Sentinel answer: the client hung up while its request was parked; there is no one to answer.
GONE = Response(status_code=499)


class BadParam(Exception):
    """A query parameter the real API's Zod schema would refuse; carries the Zod issue."""

    def __init__(self, issue: dict[str, Any]) -> None:
        super().__init__(issue.get("message"))
        self.issue = issue


def zod_response(issue: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        {"error": "Invalid parameters", "code": "400", "err": {"name": "ZodError", "issues": [issue]}},
        status_code=400,
    )


def enum_param(query: dict[str, str], name: str, options: Sequence[str], default: str | None) -> str | None:
    value = query.get(name)
    if value is None:
        return default
    if value not in options:
        expected = " | ".join(f"'{o}'" for o in options)
        raise BadParam(
            {
                "code": "invalid_enum_value",
                "path": [name],
                "received": value,
                "options": list(options),
                "message": f"Invalid enum value. Expected {expected}, received '{value}'",
            }
        )
    return value


@overload
def int_param(query: dict[str, str], name: str, default: int, minimum: int = 0) -> int: ...
@overload
def int_param(query: dict[str, str], name: str, default: None, minimum: int = 0) -> int | None: ...
def int_param(query: dict[str, str], name: str, default: int | None, minimum: int = 0) -> int | None:
    """Zod's coerced integer: "abc" is NaN, "1.5" a float, below `minimum` too small."""
    value = query.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        try:
            float(value)
        except ValueError:
            raise BadParam(
                {
                    "code": "invalid_type",
                    "path": [name],
                    "expected": "number",
                    "received": "nan",
                    "message": "Expected number, received nan",
                }
            ) from None
        raise BadParam(
            {
                "code": "invalid_type",
                "path": [name],
                "expected": "integer",
                "received": "float",
                "message": "Expected integer, received float",
            }
        ) from None
    if number < minimum:
        raise BadParam(
            {
                "code": "too_small",
                "path": [name],
                "minimum": minimum,
                "type": "number",
                "inclusive": True,
                "exact": False,
                "message": f"Number must be greater than or equal to {minimum}",
            }
        )
    return number


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    at: datetime


FaultKind = Literal["fail", "rate_limit", "malformed", "hang", "bad_encoding"]


@dataclass
class Fault:
    kind: FaultKind
    remaining: int
    path_contains: str | None = None
    status: int = 500
    body: dict[str, Any] | str | None = None
    retry_after: float | None = None
    #: Retry-After in its HTTP-date form (wins over `retry_after`).
    retry_at: datetime | None = None

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path_contains is None or self.path_contains in path)

    def response(self) -> Response:
        if self.kind == "rate_limit":
            headers = None
            if self.retry_at is not None:
                headers = {"Retry-After": format_datetime(self.retry_at, usegmt=True)}
            elif self.retry_after is not None:
                headers = {"Retry-After": f"{self.retry_after:g}"}
            return JSONResponse(RATE_LIMITED_BODY, status_code=429, headers=headers)
        if self.kind == "bad_encoding":
            # Says gzip, is not: the client cannot decode the body (httpx.DecodingError).
            return Response(
                b'{"services": []}',
                status_code=200,
                headers={"Content-Encoding": "gzip"},
                media_type="application/json",
            )
        if self.kind == "malformed":
            return Response(MALFORMED_BODY, status_code=200, media_type="application/json")
        if isinstance(self.body, str):
            return Response(self.body, status_code=self.status, media_type="text/plain")
        body = self.body if self.body is not None else default_error_body(self.status)
        return JSONResponse(body, status_code=self.status)


def default_error_body(status: int) -> dict[str, Any]:
    if status == 500:
        return SERVER_ERROR_BODY
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"error": phrase, "code": str(status)}


def take_fault(faults: list[Fault], path: str) -> Fault | None:
    """The oldest fault that matches `path` spends one of its requests (faults apply in order)."""
    for fault in faults:
        if fault.matches(path):
            fault.remaining -= 1
            if fault.remaining == 0:
                faults.remove(fault)
            return fault
    return None


class Hangs:
    """Requests parked by `hang_next`, released together (also from another thread)."""

    def __init__(self) -> None:
        self._parked: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        #: Parked requests that ended because the client hung up (its timeout), not by a release.
        self.abandoned = 0

    async def wait(self, receive: Receive) -> bool:
        """Park until released (True) or until the client gives up and disconnects (False).

        Watching for the disconnect lets a timed-out request end, so the server can shut down.
        """
        released = asyncio.Event()
        entry = (asyncio.get_running_loop(), released)
        self._parked.append(entry)
        release_task = asyncio.ensure_future(released.wait())
        disconnect_task = asyncio.ensure_future(_until_disconnect(receive))
        try:
            done, _ = await asyncio.wait({release_task, disconnect_task}, return_when=asyncio.FIRST_COMPLETED)
            if release_task not in done:
                self.abandoned += 1
            return release_task in done
        finally:
            release_task.cancel()
            disconnect_task.cancel()
            if entry in self._parked:
                self._parked.remove(entry)

    def release(self) -> None:
        parked, self._parked = self._parked, []
        for loop, event in parked:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def __len__(self) -> int:
        return len(self._parked)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
