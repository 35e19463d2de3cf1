"""The JSON bodies of mail and self-service (:mod:`credsync.api.routes.self_service`); the
answers are the vault's shapes (:mod:`credsync.vault.mail`, :mod:`credsync.vault.self_service`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MailSetupIn", "MailTestIn", "MailTestOut", "PeoplePolicyIn", "PeoplePolicyOut"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MailSetupIn(_In):
    host: str | None = Field(default=None, max_length=255, description="The SMTP server.")
    port: int | None = Field(
        default=None, description="Its port (default by security: 587, 465 or 25)."
    )
    security: str | None = Field(
        default=None, max_length=16, description="starttls (default), tls, or none."
    )
    allow_plain: bool | None = Field(
        default=None, description="Allow security none to a host other than this machine."
    )
    username: str | None = Field(default=None, max_length=255, description="Sign in as.")
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="The sign-in's password (sealed, never shown back); left out, it stays.",
    )
    clear_password: bool | None = Field(default=None, description="Remove the password.")
    from_address: str | None = Field(default=None, max_length=320, description="From.")
    public_url: str | None = Field(
        default=None, max_length=500, description="The vault's address as people reach it."
    )
    ca_pem: str | None = Field(
        default=None, max_length=65536, description="A CA to trust (PEM); empty: the system's."
    )
    invite_days: int | None = Field(default=None, description="Invitations live 1-90 days.")


class MailTestIn(_In):
    address: str = Field(max_length=320, description="Where to send the test message.")


class MailTestOut(BaseModel):
    message: str


class PeoplePolicyIn(_In):
    policy: str | None = Field(
        default=None,
        max_length=64,
        description="A named password policy; null or empty: the vault's default for people.",
    )


class PeoplePolicyOut(BaseModel):
    policy: str
