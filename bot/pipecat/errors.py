"""The typed error tree of the Pipecat Cloud client.

Each error carries a message a person can act on; the raw exception text never reaches Slack.
"""

from __future__ import annotations


class PipecatError(Exception):
    """Base of every error the Pipecat client raises."""

    #: What an on-call engineer should read.
    user_message = "Pipecat Cloud returned an error."

    def __init__(self, detail: str = "", *, status: int | None = None) -> None:
        super().__init__(detail or self.user_message)
        self.detail = detail
        self.status = status


class InvalidInput(PipecatError):
    """An agent name or session id failed validation before any URL was built."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.user_message = detail


class NotFound(PipecatError):
    user_message = "Not found: the agent or session does not exist (check the names)."


class Unauthorized(PipecatError):
    user_message = "Pipecat Cloud refused the API key: check PIPECAT_API_KEY (it must be a private key)."


class BadRequest(PipecatError):
    user_message = "Pipecat Cloud rejected the request."

    def __init__(self, detail: str = "", *, status: int | None = 400) -> None:
        super().__init__(detail, status=status)
        if detail:
            self.user_message = f"Pipecat Cloud rejected the request: {detail}"


class RateLimited(PipecatError):
    user_message = "Pipecat Cloud is rate limiting us: try again in a minute."

    def __init__(self, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(detail, status=429)
        self.retry_after = retry_after


class ServerError(PipecatError):
    user_message = "Pipecat Cloud had a server error: try again shortly."


class Unreachable(PipecatError):
    """Connection refused, DNS, TLS: the request never got an answer."""

    user_message = "Cannot reach Pipecat Cloud: try again shortly."


class Timeout(Unreachable):
    user_message = "Pipecat Cloud did not answer in time: try again shortly."


class UnexpectedResponse(PipecatError):
    """The API answered, but not in the documented shape (invalid JSON, wrong types).

    `garbled`: the body could not be read at all (cut off, not JSON, a broken encoding). That says
    nothing about the data and a later try may well succeed; a well-formed answer of the wrong
    shape (`garbled` False) will not get better by asking again.
    """

    user_message = "Pipecat Cloud answered in an unexpected format: try again, and report it if it persists."

    def __init__(self, detail: str = "", *, status: int | None = None, garbled: bool = False) -> None:
        super().__init__(detail, status=status)
        self.garbled = garbled


# --- the one mapping from an HTTP answer to these errors (the async client and the one-shot CLI
# request both call it, so a status means the same thing whichever transport carried it) ---------


def error_for_status(status: int, detail: str, *, retry_after: float | None = None) -> PipecatError | None:
    """The typed error for an HTTP status, or None below 400. `retry_after`: seconds, for 429."""
    if status < 400:
        return None
    if status == 404:
        return NotFound(detail, status=status)
    if status in (401, 403):
        return Unauthorized(detail, status=status)
    if status == 429:
        return RateLimited(detail, retry_after=retry_after)
    if status >= 500:
        return ServerError(detail, status=status)
    return BadRequest(detail, status=status)


def error_detail(body: object) -> str:
    """The API's own words from a decoded error body: `error`, or `message`, plus Zod issue
    messages when present; "" when the body says nothing usable."""
    if not isinstance(body, dict):
        return ""
    text = str(body.get("error") or body.get("message") or "")
    err = body.get("err")
    if isinstance(err, dict) and isinstance(err.get("issues"), list):
        issues = [str(i.get("message")) for i in err["issues"] if isinstance(i, dict) and i.get("message")]
        if issues:
            text = f"{text}: {'; '.join(issues)}" if text else "; ".join(issues)
    return text[:500]
