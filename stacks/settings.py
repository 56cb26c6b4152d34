"""The stack configuration (namespace ``egov:``) as a validated model, from a stack file or the runtime.

Pulumi hands a program its config as strings (structured values as JSON); a stack file holds YAML values.
Both reach :func:`parse_settings`, so ``egov stack plan`` and ``pulumi up`` see the same settings and the
same errors, which name the file and the key. Every key is documented in docs/operators.md and the stack
files.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from egov.errors import SourceError
from egov.source import read_yaml

#: The config namespace of the program (Pulumi.yaml ``name``-independent: keys read as ``egov:<key>``).
NAMESPACE = "egov"
#: Project directory of the Pulumi program and the stacks it ships with.
PROJECT_DIR = Path(__file__).resolve().parent / "egov-cloud"
STACKS = ("prod", "staging")
#: Provider keys that would carry a credential: allowed only as Pulumi secrets (``secure:``), never plain.
SECRET_KEYS = (
    "openstack:password",
    "openstack:token",
    "openstack:applicationCredentialSecret",
    "openstack:key",
)


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
    )


class ZoneNetwork(_Model):
    """An external provider network of the 政务外网: 公用网络区 (public) or 互联网接入区 (internet)."""

    name: str = Field(min_length=1)
    physical_network: str = Field(min_length=1)
    network_type: Literal["vlan", "flat"] = "vlan"
    segmentation_id: int | None = Field(default=None, ge=1, le=4094)
    cidr: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    pool_start: ipaddress.IPv4Address
    pool_end: ipaddress.IPv4Address

    @model_validator(mode="after")
    def _inside(self) -> ZoneNetwork:
        for label, address in (
            ("gateway", self.gateway),
            ("poolStart", self.pool_start),
            ("poolEnd", self.pool_end),
        ):
            if address not in self.cidr:
                raise ValueError(f"{label} {address} is outside {self.cidr}")
        if self.pool_end < self.pool_start:
            raise ValueError("poolEnd is below poolStart")
        if self.pool_start <= self.gateway <= self.pool_end:
            raise ValueError(f"gateway {self.gateway} lies inside the allocation pool")
        if (self.network_type == "vlan") != (self.segmentation_id is not None):
            raise ValueError("a vlan network needs segmentationId; a flat network must not have one")
        return self


class NetworkQuota(_Model):
    """Neutron quota of each department project; ports follow the instance quota."""

    network: int = Field(default=10, ge=1)
    subnet: int = Field(default=20, ge=1)
    router: int = Field(default=2, ge=1)
    floatingip: int = Field(default=10, ge=0)
    security_group: int = Field(default=20, ge=1)
    security_group_rule: int = Field(default=200, ge=1)
    ports_per_instance: int = Field(default=2, ge=1)


class VolumeTier(_Model):
    """A Cinder volume type: the backend it lands on and its front-end QoS limits."""

    backend: str = Field(min_length=1)
    description: str = Field(min_length=1)
    qos: dict[str, int] = Field(default_factory=dict)


class StackSettings(_Model):
    """Everything a stack file says under ``egov:`` (plus ``openstack:cloud``)."""

    data: Path | None = None
    departments: Literal["all"] | list[str] = "all"
    quota_factor: float = Field(default=1.1, gt=0, le=10)
    quota_factors: dict[str, float] = Field(default_factory=dict)
    vcpus_per_instance: int = Field(default=4, ge=1)
    volumes_per_instance: int = Field(default=2, ge=1)
    domain: str = Field(default="gd-departments", min_length=1)
    department_roles: list[str] = Field(default_factory=lambda: ["member"], min_length=1)
    operator_role: str = "member"
    hostname_pattern: str = "{aggregate}-{index:03d}"
    #: aggregate → its compute hosts by name (`openstack aggregate show <name> -c hosts`); the pattern
    #: above names only the aggregates not listed here.
    hosts: dict[str, list[str]] = Field(default_factory=dict)
    dns_nameservers: list[ipaddress.IPv4Address] = Field(default_factory=list)
    #: None: the backbone's operations prefixes (data/network.yaml management.ssh_allowed).
    management_prefixes: list[ipaddress.IPv4Network] | None = None
    zones: dict[str, ZoneNetwork]
    network_quota: NetworkQuota = Field(default_factory=NetworkQuota)
    volume_tiers: dict[str, VolumeTier] = Field(min_length=1)
    #: ``openstack:cloud``: the clouds.yaml entry the provider authenticates with.
    cloud: str | None = None

    @field_validator("quota_factors")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for code, factor in v.items():
            if not 0 < factor <= 10:
                raise ValueError(f"factor of {code} must be in (0, 10], got {factor}")
        return v

    @field_validator("zones")
    @classmethod
    def _public_zone(cls, v: dict[str, ZoneNetwork]) -> dict[str, ZoneNetwork]:
        unknown = sorted(set(v) - {"public", "internet"})
        if unknown:
            raise ValueError(f"zones are 'public' (公用网络区) and 'internet' (互联网接入区), not {unknown}")
        if "public" not in v:
            raise ValueError("the public zone (公用网络区) is required: department routers attach to it")
        return v

    @field_validator("hostname_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            v.format(aggregate="agg", index=1, az="az")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"hostnamePattern may use {{aggregate}}, {{az}} and {{index}}: {exc}") from None
        return v

    def factor_of(self, code: str) -> float:
        """The quota factor of a department: its override or the stack default."""
        return self.quota_factors.get(code, self.quota_factor)


def parse_settings(values: Mapping[str, Any], origin: str) -> StackSettings:
    """Validate the ``egov:`` values (keys without namespace); errors name ``origin`` and the key."""
    try:
        return StackSettings.model_validate(dict(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or None
        field = f"{NAMESPACE}:{key}" if key else None
        raise SourceError(origin, first["msg"].removeprefix("Value error, "), field=field) from None


def _decode(text: str) -> Any:
    """A runtime config value: structured values arrive as JSON text, plain strings as themselves."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def settings_from_runtime(config: Mapping[str, str], origin: str = "stack config") -> StackSettings:
    """Settings from the runtime's flat ``namespace:key → text`` map (what the engine passes a program)."""
    prefix = f"{NAMESPACE}:"
    values: dict[str, Any] = {k[len(prefix) :]: _decode(v) for k, v in config.items() if k.startswith(prefix)}
    if "openstack:cloud" in config:
        values["cloud"] = config["openstack:cloud"]
    return parse_settings(values, origin)


#: Keys holding structured values (YAML in the stack file, JSON text at runtime): read with get_object.
STRUCTURED_KEYS = frozenset(
    {
        "quotaFactors",
        "departmentRoles",
        "dnsNameservers",
        "managementPrefixes",
        "zones",
        "networkQuota",
        "volumeTiers",
        "hosts",
    }
)


def settings_from_pulumi_config(config: Any, cloud: str | None, origin: str) -> StackSettings:
    """Settings through the public ``pulumi.Config`` API of the running program (``config``: the ``egov``
    namespace): ``get_object`` for structured keys, ``get`` for the others (pydantic converts numbers).

    ``pulumi.Config`` cannot list the keys it holds, so a misspelt ``egov:`` key is caught by
    ``egov stack plan`` (which reads the stack file whole), not here.
    """
    values: dict[str, Any] = {}
    for name, field in StackSettings.model_fields.items():
        key = field.alias or name
        if name == "cloud" or config.get(key) is None:
            continue
        if key in STRUCTURED_KEYS or (key == "departments" and config.get(key) != "all"):
            values[key] = config.get_object(key)
        else:
            values[key] = config.get(key)
    if cloud is not None:
        values["cloud"] = cloud
    return parse_settings(values, origin)


def stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def read_stack_config(path: Path) -> dict[str, str]:
    """A stack file's ``config:`` as the engine would hand it to the program (flat map of text values).

    A credential in plain text is refused: it must be set with ``pulumi config set --secret``.
    """
    raw = read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("config", {}), dict):
        raise SourceError(path, "expected a mapping with a 'config:' mapping")
    flat: dict[str, str] = {}
    for key, value in (raw.get("config") or {}).items():
        if ":" not in str(key):
            raise SourceError(path, "config keys are 'namespace:key'", field=str(key))
        if key in SECRET_KEYS and not (isinstance(value, dict) and set(value) == {"secure"}):
            raise SourceError(
                path, f"{key} is in plain text; set it with `pulumi config set --secret {key}`", field=key
            )
        if isinstance(value, dict) and set(value) == {"secure"}:
            flat[key] = "[secret]"  # ciphertext stays ciphertext: only the engine can decrypt it
        elif isinstance(value, str):
            flat[key] = value
        else:
            flat[key] = json.dumps(value, ensure_ascii=False)
    return flat


def load_stack_settings(stack: str, project_dir: Path = PROJECT_DIR) -> tuple[dict[str, str], StackSettings]:
    """The flat config of a committed stack file and its validated settings."""
    path = stack_file(stack, project_dir)
    config = read_stack_config(path)
    data = config.get(f"{NAMESPACE}:data")
    if data and not Path(data).is_absolute():
        # Pulumi runs the program in the project directory: a relative data path is relative to it.
        config[f"{NAMESPACE}:data"] = str((project_dir / data).resolve())
    return config, settings_from_runtime(config, origin=str(path))
