"""Domain errors raised by services; views turn them into form errors or problem+json."""


class DomainError(Exception):
    """A business rule refused the change; nothing was written."""

    status_code = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class InvalidUpload(DomainError):
    status_code = 422
