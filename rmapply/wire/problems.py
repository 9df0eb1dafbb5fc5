"""Error bodies of the v1 API (``ErrorResponse`` and ``DetailedErrorResponse``)."""

# Annotations are objects here, not strings (no ``from __future__ import annotations``):
# pydantic would compile and evaluate each string of each model class at import.

from pydantic import ConfigDict

from rmapply.wire.base import WireModel


class ErrorDetail(WireModel):
    """Schema ``Error``: a code, a human-readable message and an optional target."""

    # The spec allows additional properties on errors.
    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    target: str | None = None


class DetailedError(ErrorDetail):
    """Schema ``DetailedError``: an error with more specific ``details``."""

    details: list[ErrorDetail]


class ErrorResponse(WireModel):
    """Schema ``ErrorResponse``."""

    error: ErrorDetail


class DetailedErrorResponse(WireModel):
    """Schema ``DetailedErrorResponse``."""

    error: DetailedError
