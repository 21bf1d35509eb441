"""Error codes of the API, shared by the server (exception -> status, code) and the client
(code -> exception). Neither side imports the other's HTTP library for this."""

from __future__ import annotations

from learnware_dock import errors


class AuthError(errors.DockError):
    """A request's token is missing, unknown, expired or revoked (401)."""


class ForbiddenError(errors.DockError):
    """The token is valid but its owner may not do this (403)."""


class BusyError(errors.DockError):
    """Another change of the learnware is being checked (409); retry when it is done."""


class ApiError(Exception):
    """An error with an explicit HTTP status and code, raised by the routes."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


#: most specific first
DOCK_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (AuthError, 401, "unauthorized"),
    (errors.UnknownLearnwareError, 404, "unknown_learnware"),
    (BusyError, 409, "busy"),
    (errors.CheckError, 422, "rejected"),
    (errors.SemanticError, 422, "bad_semantic_spec"),
    (errors.SpecificationError, 422, "bad_specification"),
    (errors.PackageError, 400, "bad_package"),
    (errors.PluginError, 400, "missing_plugin"),
    (errors.SearchError, 400, "bad_search"),
    (errors.ContainerError, 502, "container_failed"),
    (errors.StoreError, 503, "store_unavailable"),
    (errors.DockError, 400, "dock_error"),
)


def classify(exc: Exception) -> tuple[int, str]:
    """The HTTP status and code of a dock exception (500 ``internal`` if none matches)."""
    for cls, status, code in DOCK_ERRORS:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal"


def error_class(code: str, status: int) -> type[errors.DockError]:
    """The exception a client raises for an error response."""
    if status == 403:
        return ForbiddenError
    for cls, _, known in DOCK_ERRORS:
        if known == code:
            return cls  # type: ignore[return-value]
    return errors.StoreError if status >= 500 else errors.DockError
