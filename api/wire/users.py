"""Wire shapes of /me and /users."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from geo.roles import Role


class Me(BaseModel):
    name: str
    role: Role
    cvegeo: str | None = Field(description="The municipality acted for; null: the state.")


class UserRow(BaseModel):
    name: str
    role: Role
    cvegeo: str | None
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool


class NewUser(BaseModel):
    name: str
    role: Role
    cvegeo: str | None
    token: str = Field(description="Shown only here.")
    valid_days: int = Field(description="0: never expires.")


class Ended(BaseModel):
    sessions: int
    tokens: int


class UserChanged(BaseModel):
    name: str
    changed: list[str] = Field(description="The fields that changed.")
    ended: Ended


class PasswordSet(BaseModel):
    name: str
    sessions_ended: int


class NewToken(BaseModel):
    name: str
    token: str = Field(description="Shown only here.")
    valid_days: int


class TokensRevoked(BaseModel):
    name: str
    revoked: int
