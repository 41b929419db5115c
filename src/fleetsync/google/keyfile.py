"""The service account's JSON key file, validated before google-auth ever sees it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from fleetsync.settings import ConfigError

__all__ = ["ServiceAccountKey", "read_key_file"]


class ServiceAccountKey(BaseModel):
    """The fields of a Google service-account key that fleetsync relies on."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Literal["service_account"]
    project_id: str = ""
    private_key_id: str = Field(min_length=1)
    private_key: SecretStr
    client_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    client_id: str = Field(min_length=1)
    token_uri: str = Field(pattern=r"^https?://")

    @field_validator("private_key")
    @classmethod
    def _pem(cls, value: SecretStr) -> SecretStr:
        if "-----BEGIN PRIVATE KEY-----" not in value.get_secret_value():
            raise ValueError("is not a PEM private key ('-----BEGIN PRIVATE KEY-----' missing)")
        return value


def read_key_file(path: Path) -> ServiceAccountKey:
    """Read and validate a key file. Raises :class:`ConfigError` that says what to fix."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"service-account key file {path} does not exist; set [google] key_file to the JSON "
            "key downloaded from the Cloud console (see credentials.example/README.md)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"service-account key file {path} cannot be read as JSON: {exc}"
        ) from None
    try:
        return ServiceAccountKey.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"service-account key file {path} is not a usable key: {problems}"
        ) from None
