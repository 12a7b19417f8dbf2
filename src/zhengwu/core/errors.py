"""Errors with a Chinese message naming the field, shared by services, forms and the API."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused an action. `field` names the offending input when there is one."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(DomainError):
    status = 403

    def __init__(self, message: str = "无权执行此操作", field: str | None = None):
        super().__init__(message, field)


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str = "对象不存在", field: str | None = None):
        super().__init__(message, field)


class Conflict(DomainError):
    status = 409


class Gone(DomainError):
    """The object existed but was withdrawn (e.g. a data version undone after its batch failed)."""

    status = 410
