"""Errors that leave the service inside the envelope, each with a stable code and HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    """An error the client sees as `{"ok": false, "error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r})"
