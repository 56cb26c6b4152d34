"""data/zones.yaml: the services the zone policy names, what it publishes, and the intents that check it.

Errors name the file and the field (``intents.3.dst``) and echo the bad value. Zone names are checked against
the model's zones once the model is built (:func:`check_zone_names`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from egov.errors import SourceError
from egov.source import read_yaml, validation_errors
from network.params import DATA_DIR

ZONES_FILE = "zones.yaml"

#: The protocols a service may name (aerleon's names; 'ip' = every protocol).
PROTOCOL_NUMBERS = {"ip": None, "icmp": 1, "tcp": 6, "udp": 17}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Service(_Strict):
    protocol: Literal["ip", "icmp", "tcp", "udp"]
    port: int | None = Field(default=None, ge=1, le=65535)

    @model_validator(mode="after")
    def _port_needs_tcp_or_udp(self) -> Service:
        if self.port is not None and self.protocol not in ("tcp", "udp"):
            raise ValueError(f"a port ({self.port}) needs protocol tcp or udp, not {self.protocol!r}")
        if self.port is None and self.protocol in ("tcp", "udp"):
            raise ValueError(f"protocol {self.protocol} needs a port")
        return self


class Published(_Strict):
    internet_to_cloud: tuple[str, ...] = ()
    public_to_cloud: tuple[str, ...] = ()
    department_to_cloud: tuple[str, ...] = ()
    public_to_internet: tuple[str, ...] = ()
    infrastructure_to_management: tuple[str, ...] = ()


class Intent(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    src: str
    dst: str
    service: str
    expect: Literal["allow", "deny"]


class ZonePolicyInput(_Strict):
    services: dict[str, Service] = Field(min_length=1)
    published: Published
    intents: tuple[Intent, ...] = Field(min_length=1, max_length=10_000)

    @field_validator("services")
    @classmethod
    def _service_names(cls, v: dict[str, Service]) -> dict[str, Service]:
        for name in v:
            if not name.replace("-", "").isalnum() or not name.islower():
                raise ValueError(f"service name {name!r}: lower-case letters, digits and '-' only")
        return v

    @model_validator(mode="after")
    def _references(self) -> ZonePolicyInput:
        seen: set[str] = set()
        for i, intent in enumerate(self.intents):
            if intent.service not in self.services:
                raise ValueError(
                    f"intents.{i}.service: {intent.service!r} is not one of the services "
                    f"({', '.join(sorted(self.services))})"
                )
            if intent.name in seen:
                raise ValueError(f"intents.{i}.name: {intent.name!r} is used twice")
            seen.add(intent.name)
        for field, names in self.published:
            for name in names:
                if name not in self.services:
                    raise ValueError(f"published.{field}: {name!r} is not one of the services")
        return self


def load_zone_policy(path: Path | None = None) -> ZonePolicyInput:
    """Read and validate data/zones.yaml; an error names the file and the field and echoes the value."""
    path = path or DATA_DIR / ZONES_FILE
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SourceError(path, "expected a mapping at the top level")
    try:
        return ZonePolicyInput.model_validate(raw)
    except ValidationError as exc:
        raise validation_errors(path, exc).errors[0] from None


def check_zone_names(path: Path, spec: ZonePolicyInput, zones: set[str]) -> None:
    """Every intent names zones the model has (e.g. a department code that is not in departments.csv)."""
    for i, intent in enumerate(spec.intents):
        for field in ("src", "dst"):
            value = getattr(intent, field)
            if value not in zones:
                known = sorted(z for z in zones if not z.startswith("dept-"))
                raise SourceError(
                    path,
                    f"{value!r} is not a zone of the model (zones: {', '.join(known)}, dept-<code>)",
                    field=f"intents.{i}.{field}",
                )
