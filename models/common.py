"""Shapes shared by every resource of the API."""

from __future__ import annotations

from pydantic import BaseModel


class Message(BaseModel):
    message: str


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error the API returns, whatever raised it."""

    message: str
    errors: list[FieldError] | None = None


class PasswordChanged(BaseModel):
    message: str
    token: str
