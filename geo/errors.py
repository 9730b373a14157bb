"""The error hierarchy shared by every layer of Linde.

Each error carries a stable machine ``code`` and a human ``message`` that is safe
to show to a client. The HTTP status for each class is chosen in one place,
``api/errors.py``; nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Problem:
    """One thing wrong with one piece of input.

    Attributes:
        field: where the problem is (a column, a query parameter, ``geometry``).
        reason: what is wrong and, where possible, how to fix it.
        row: 1-based row (feature) number for file imports, else ``None``.
    """

    field: str
    reason: str
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "reason": self.reason}
        if self.row is not None:
            out["row"] = self.row
        return out

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}{self.field}: {self.reason}"


class LindeError(Exception):
    """Base class: an error whose message may be shown to the caller."""

    code = "error"

    def __init__(self, message: str, *, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = problems or []


class InvalidInput(LindeError):
    """The caller sent something Linde cannot accept (a 4xx, never a crash)."""

    code = "invalid_input"


class InvalidParameter(InvalidInput):
    """A malformed query parameter (a bbox, a limit, a filter): HTTP's 400, not 422."""

    code = "invalid_parameter"


class InvalidGeometry(InvalidInput):
    code = "invalid_geometry"


class ImportRejected(InvalidInput):
    """A file import found bad rows; nothing was written."""

    code = "import_rejected"


class UnreadableFile(InvalidInput):
    code = "unreadable_file"


class NotFound(LindeError):
    code = "not_found"


class Gone(LindeError):
    """What was asked for existed and has ended for good (a withdrawn claim's series).

    ``history``: the path (from the service's root) where its past versions are read.
    """

    code = "gone"

    def __init__(
        self, message: str, *, history: str | None = None, problems: list[Problem] | None = None
    ) -> None:
        super().__init__(message, problems=problems)
        self.history = history


class Conflict(LindeError):
    code = "conflict"


class StaleVersion(LindeError):
    """A shared record changed since the caller read it: the version the write expected
    is not the current one (optimistic concurrency). ``current_version`` is the one
    now stored, when known. Same wire code as a stale ``If-Match``."""

    code = "precondition_failed"

    def __init__(
        self, message: str, *, current_version: int | None, problems: list[Problem] | None = None
    ) -> None:
        super().__init__(message, problems=problems)
        self.current_version = current_version


class PreconditionFailed(LindeError):
    """The record changed since the caller read it (a stale ``If-Match``)."""

    code = "precondition_failed"


class PreconditionRequired(LindeError):
    """An edit of a shared record came without ``If-Match``."""

    code = "precondition_required"


class Unauthenticated(LindeError):
    code = "unauthenticated"


class Forbidden(LindeError):
    code = "forbidden"


class TooManyRequests(LindeError):
    """The caller must wait ``retry_after`` seconds (too many failed sign-ins)."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(LindeError):
    """Linde cannot serve this now but will soon: too many downloads at once, the
    database unreachable or busy. The caller should retry after ``retry_after`` seconds."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        if code is not None:
            self.code = code


class RendererUnavailable(LindeError):
    """A static image (PNG, PDF) cannot be drawn here; the message says what is missing."""

    code = "renderer_unavailable"


class RendererBusy(RendererUnavailable):
    """Too many PNG or PDF renders at once; the caller should retry after ``retry_after`` s."""

    code = "renderer_busy"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class ProblemList:
    """Collects problems up to a limit so a huge broken file gives a readable report."""

    limit: int = 20
    items: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, problem: Problem) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(problem)

    def __bool__(self) -> bool:
        return self.total > 0

    def summary(self) -> str:
        lines = [str(p) for p in self.items]
        if self.total > len(self.items):
            lines.append(f"... and {self.total - len(self.items)} more")
        return "\n".join(lines)
