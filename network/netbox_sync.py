"""Push the export of :mod:`network.netbox` into a running NetBox via its REST API (pynetbox), idempotently.

Table by table in import order: read what NetBox has, create what is missing (bulk), update the fields that
differ (bulk), and report what exists only in NetBox (deleted only with ``prune``). A second push of the same
model changes nothing. References (a site's region, a device's type, an address's interface …) are resolved to
NetBox ids from the tables pushed before. A failure stops the push and the report says what was written up to
it and what was not.

Where the time goes, and what keeps it short (measured in bench/bench_netbox.py; figures in the README):
NetBox validates, saves, change-logs and search-indexes every object one by one, whatever the client does, so
the writes are bulk lists of :data:`CHUNK` objects with :data:`IN_FLIGHT` of them at once (NetBox under
gunicorn serves them in parallel; one at a time leaves a core idle), and only fields that differ are sent.
Reads ask for the compared fields only (``?fields=``: NetBox then neither queries nor renders the rest, e.g.
a device's config context), :data:`PAGE` objects a page, pages fetched in parallel, answers kept as plain
JSON (no pynetbox records: hydrating tens of thousands costs more than the request).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from network.netbox import CUSTOM_FIELDS

CHUNK = 250  # objects per bulk write: NetBox saves each list in one transaction (all or none of it)
IN_FLIGHT = 2  # bulk requests at once: NetBox's workers answer them in parallel
PAGE = 1000  # objects per read: NetBox's default MAX_PAGE_SIZE, the most a page may hold
DEVICE_ADDRESSES = ("primary_ip4", "primary_ip6", "oob_ip")  # a device's fields naming its own addresses

Row = dict[str, Any]
Key = tuple[Any, ...]


class NetBoxError(RuntimeError):
    """The push could not go on: unreachable, refused token, missing custom field, or a rejected object."""


@dataclass
class SyncReport:
    """What one push did, per table: created, updated, unchanged, and what only NetBox has."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    only_in_netbox: dict[str, list[str]] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    #: rows of the model a stopped push did not get to write or check, per table (empty when it went through)
    not_pushed: dict[str, int] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)  # "table key: field old → new" of every update
    error: str | None = None

    @property
    def total_changes(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + sum(self.deleted.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "not_pushed": self.not_pushed,
            "only_in_netbox": {t: len(keys) for t, keys in self.only_in_netbox.items()},
            "only_in_netbox_examples": {t: keys[:10] for t, keys in self.only_in_netbox.items()},
            "changes": self.changes[:200],
            "total_changes": self.total_changes,
            "error": self.error,
        }


@dataclass(frozen=True)
class Spec:
    """How one table maps to a NetBox endpoint: its natural key and how a row becomes an API payload."""

    endpoint: str  # "dcim.devices"
    key: tuple[str, ...]  # payload fields that identify an object
    ref_by: str  # the row field other tables name this table's objects by
    payload: Callable[[Row, Resolver], Row]


class Resolver:
    """Ids of the objects pushed so far, by table and the name other rows use for them."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[Any, int]] = {}
        self.interfaces: dict[tuple[int | None, str], int] = {}  # (device id, interface name) → id

    def id(self, table: str, name: Any) -> int | None:
        if name in ("", None):
            return None
        try:
            return self.ids[table][name]
        except KeyError:
            raise NetBoxError(f"{table} {name!r} is referenced but was not pushed") from None

    def ids_of(self, table: str, names: str) -> list[int]:
        return sorted(i for n in names.split(",") if n and (i := self.id(table, n)) is not None)

    def interface(self, device: str, name: str) -> int:
        try:
            return self.interfaces[self.id("devices", device), name]
        except KeyError:
            raise NetBoxError(f"interface {device} {name} is referenced but was not pushed") from None


class _Probe(Resolver):
    """Resolves every name to a dummy id: a table's payload fields, before anything of it is pushed."""

    def id(self, table: str, name: Any) -> int | None:
        return 0

    def interface(self, device: str, name: str) -> int:
        return 0


_PROBE = _Probe()


def _bool(value: str) -> bool:
    return str(value).lower() == "true"


def _int(value: Any) -> int | None:
    return None if value in ("", None) else int(value)


def _float(value: Any) -> float | None:
    return None if value in ("", None) else float(value)


def _named(fields: Iterable[str]) -> Callable[[Row, Resolver], Row]:
    names = tuple(fields)
    return lambda row, _: {f: row[f] for f in names}


def _interface_payload(row: Row, r: Resolver) -> Row:
    group = row["vlan_group"]  # VIDs are unique within their group only
    tagged = [int(vid) for vid in row["tagged_vlans"].split(",") if vid]
    return {
        "device": r.id("devices", row["device"]),
        "name": row["name"],
        "type": row["type"],
        "speed": _int(row["speed"]),
        "mtu": _int(row["mtu"]),
        "vrf": r.id("vrfs", row["vrf"]),
        "description": row["description"],
        "mgmt_only": _bool(row["mgmt_only"]),
        "custom_fields": {"ospf_cost": _int(row["cf_ospf_cost"]), "ospf_area": _int(row["cf_ospf_area"])},
        "parent": r.interface(row["device"], row["parent"]) if row["parent"] else None,
        "mode": row["mode"] or None,
        "untagged_vlan": r.id("vlans", (group, _int(row["untagged_vlan"]))) if row["untagged_vlan"] else None,
        "tagged_vlans": sorted(r.id("vlans", (group, vid)) or 0 for vid in tagged),
    }


def _address_payload(row: Row, r: Resolver) -> Row:
    interface = r.interface(row["device"], row["interface"])
    return {
        "address": row["address"],
        "vrf": r.id("vrfs", row["vrf"]),
        "tenant": r.id("tenants", row["tenant"]),
        "status": row["status"],
        "role": row["role"] or None,
        "assigned_object_type": "dcim.interface",
        "assigned_object_id": interface,
    }


SPECS: dict[str, Spec] = {
    "tenants": Spec("tenancy.tenants", ("slug",), "name", _named(("name", "slug", "description"))),
    "regions": Spec(
        "dcim.regions",
        ("slug",),
        "name",
        lambda row, r: {
            "name": row["name"],
            "slug": row["slug"],
            "parent": r.id("regions", row["parent"]),
            "description": row["description"],
        },
    ),
    "sites": Spec(
        "dcim.sites",
        ("slug",),
        "name",
        lambda row, r: {
            "name": row["name"],
            "slug": row["slug"],
            "status": row["status"],
            "region": r.id("regions", row["region"]),
            "latitude": _float(row["latitude"]),
            "longitude": _float(row["longitude"]),
            "description": row["description"],
        },
    ),
    "rirs": Spec(
        "ipam.rirs",
        ("slug",),
        "name",
        lambda row, _: {"name": row["name"], "slug": row["slug"], "is_private": _bool(row["is_private"])},
    ),
    "asns": Spec(
        "ipam.asns",
        ("asn",),
        "asn",
        lambda row, r: {
            "asn": int(row["asn"]),
            "rir": r.id("rirs", row["rir"]),
            "description": row["description"],
        },
    ),
    "aggregates": Spec(
        "ipam.aggregates",
        ("prefix",),
        "prefix",
        lambda row, r: {
            "prefix": row["prefix"],
            "rir": r.id("rirs", row["rir"]),
            "description": row["description"],
        },
    ),
    "route-targets": Spec("ipam.route_targets", ("name",), "name", _named(("name", "description"))),
    "vrfs": Spec(
        "ipam.vrfs",
        ("name",),
        "name",
        lambda row, r: {
            "name": row["name"],
            "tenant": r.id("tenants", row["tenant"]),
            "enforce_unique": _bool(row["enforce_unique"]),
            "import_targets": r.ids_of("route-targets", row["import_targets"]),
            "export_targets": r.ids_of("route-targets", row["export_targets"]),
            "description": row["description"],
        },
    ),
    "roles": Spec("ipam.roles", ("slug",), "name", _named(("name", "slug"))),
    "prefixes": Spec(
        "ipam.prefixes",
        ("vrf", "prefix"),
        "prefix",
        lambda row, r: {
            "prefix": row["prefix"],
            "vrf": r.id("vrfs", row["vrf"]),
            "tenant": r.id("tenants", row["tenant"]),
            "status": row["status"],
            "role": r.id("roles", row["role"]),
            "description": row["description"],
        },
    ),
    "vlan-groups": Spec("ipam.vlan_groups", ("slug",), "name", _named(("name", "slug", "description"))),
    "vlans": Spec(
        "ipam.vlans",
        ("group", "vid"),
        "vid",
        lambda row, r: {
            "group": r.id("vlan-groups", row["group"]),
            "vid": int(row["vid"]),
            "name": row["name"],
            "tenant": r.id("tenants", row["tenant"]),
            "status": row["status"],
            "description": row["description"],
        },
    ),
    "manufacturers": Spec("dcim.manufacturers", ("slug",), "name", _named(("name", "slug"))),
    "platforms": Spec(
        "dcim.platforms",
        ("slug",),
        "name",
        lambda row, r: {
            "name": row["name"],
            "slug": row["slug"],
            "manufacturer": r.id("manufacturers", row["manufacturer"]),
        },
    ),
    "device-roles": Spec("dcim.device_roles", ("slug",), "slug", _named(("name", "slug", "color"))),
    "device-types": Spec(
        "dcim.device_types",
        ("slug",),
        "model",
        lambda row, r: {
            "manufacturer": r.id("manufacturers", row["manufacturer"]),
            "model": row["model"],
            "slug": row["slug"],
            "part_number": row["part_number"],
            "u_height": float(row["u_height"]),
            "is_full_depth": _bool(row["is_full_depth"]),
        },
    ),
    "interface-templates": Spec(
        "dcim.interface_templates",
        ("device_type", "name"),
        "name",
        lambda row, r: {
            "device_type": r.id("device-types", row["device_type"]),
            "name": row["name"],
            "type": row["type"],
            "mgmt_only": _bool(row["mgmt_only"]),
        },
    ),
    "devices": Spec(
        "dcim.devices",
        ("name",),
        "name",
        lambda row, r: {
            "name": row["name"],
            "role": r.id("device-roles", row["role"]),
            "device_type": r.id("device-types", row["device_type"]),
            "platform": r.id("platforms", row["platform"]),
            "site": r.id("sites", row["site"]),
            "status": row["status"],
            "description": row["description"],
        },
    ),
    "interfaces": Spec("dcim.interfaces", ("device", "name"), "name", _interface_payload),
    "ip-addresses": Spec("ipam.ip_addresses", ("vrf", "address"), "address", _address_payload),
    "providers": Spec("circuits.providers", ("slug",), "name", _named(("name", "slug"))),
    "circuit-types": Spec("circuits.circuit_types", ("slug",), "name", _named(("name", "slug"))),
    "circuits": Spec(
        "circuits.circuits",
        ("provider", "cid"),
        "cid",
        lambda row, r: {
            "cid": row["cid"],
            "provider": r.id("providers", row["provider"]),
            "type": r.id("circuit-types", row["type"]),
            "status": row["status"],
            "commit_rate": _int(row["commit_rate"]),
            "description": row["description"],
        },
    ),
    "circuit-terminations": Spec(
        "circuits.circuit_terminations",
        ("circuit", "term_side"),
        "circuit",
        lambda row, r: {
            "circuit": r.id("circuits", row["circuit"]),
            "term_side": row["term_side"],
            "termination_type": row["termination_type"],
            "termination_id": r.id("sites", row["site"]),
            "port_speed": _int(row["port_speed"]),
            "description": row["description"],
        },
    ),
}


def _comparable(value: Any) -> Any:
    """A value as NetBox serialises it, reduced to what the payload holds (ids, choice values)."""
    if isinstance(value, dict):
        if "value" in value and "label" in value:
            return value["value"]
        if "id" in value:
            return value["id"]
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted(_comparable(v) for v in value)
    return value


def _same(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        have = have or {}
        return all(_same(v, have.get(k)) for k, v in want.items())
    if isinstance(want, float) or isinstance(have, float):
        return have is not None and want is not None and float(want) == float(have)
    if want in ("", None) and have in ("", None):
        return True
    return bool(want == have)


class _Push:
    def __init__(self, api: Any, report: SyncReport, progress: Callable[[str], None], in_flight: int):
        self.api = api
        self.in_flight = in_flight
        self.report = report
        self.progress = progress
        self.resolver = Resolver()
        self.extras: list[tuple[str, list[int]]] = []
        self.primaries: dict[int, dict[str, Any]] = {}  # device id → its primary_ip4/6, oob_ip ids in NetBox
        self.pool = ThreadPoolExecutor(in_flight, thread_name_prefix="netbox-push")

    def request(self, table: str, **filters: Any) -> Any:
        """A pynetbox request on ``table``'s endpoint that answers plain JSON (no records)."""
        from pynetbox.core.query import Request

        app, name = SPECS[table].endpoint.split(".")
        return Request(
            base=getattr(getattr(self.api, app), name).url + "/",
            token=self.api.token,
            http_session=self.api.http_session,
            filters=filters or None,
            limit=PAGE,
            threading=True,
            max_workers=self.in_flight,
        )

    def existing(self, table: str, fields: Iterable[str]) -> dict[Key, dict[str, Any]]:
        spec = SPECS[table]
        found: dict[Key, dict[str, Any]] = {}
        read = sorted({"id", *spec.key, *fields})
        for record in _transport(table, lambda: list(self.request(table, fields=",".join(read)).get())):
            data = {k: _comparable(v) for k, v in record.items()}
            if table == "circuit-terminations" and data.get("termination_type") is None:
                continue
            found[tuple(data.get(k) for k in spec.key)] = data
        return found

    def table(self, table: str, rows: list[Row]) -> None:
        spec = SPECS[table]
        self.progress(table)
        fields = list(spec.payload(rows[0], _PROBE)) if rows else []
        if table == "devices":
            fields += [*DEVICE_ADDRESSES]
        have = self.existing(table, fields)
        if table == "devices":
            self.primaries = {d["id"]: d for d in have.values()}
        wanted: set[Key] = set()
        self.resolver.ids[table] = {}
        # a table that references itself (regions: a parent before its children; interfaces: a port before
        # its sub-interfaces) goes level by level
        levels = {"regions": _levels, "interfaces": _parents_first}.get(table, lambda rows: [rows])
        for level in levels(rows):
            wanted |= self._level(table, spec, level, have)
        extra = [key for key in have if key not in wanted]
        if extra:
            self.report.only_in_netbox[table] = [_show(k) for k in extra]
            self.extras.append((table, [have[k]["id"] for k in extra]))

    def _level(self, table: str, spec: Spec, rows: list[Row], have: dict[Key, dict[str, Any]]) -> set[Key]:
        want: dict[Key, Row] = {}
        names: dict[Key, Any] = {}
        for row in rows:
            payload = spec.payload(row, self.resolver)
            key = tuple(payload[k] for k in spec.key)
            want[key] = payload
            names[key] = _ref(table, spec, row, payload)
        create = [p for k, p in want.items() if k not in have]
        update = []
        for key, payload in want.items():
            if key in have:
                old = have[key]
                diff = {f: v for f, v in payload.items() if not _same(v, old.get(f))}
                if diff:
                    update.append({"id": old["id"], **diff})
                    for f, v in diff.items():
                        self.report.changes.append(f"{table} {_show(key)}: {f} {old.get(f)!r} → {v!r}")
        ids = {key: have[key]["id"] for key in want if key in have}
        self.report.unchanged[table] = (
            self.report.unchanged.get(table, 0) + len(want) - len(create) - len(update)
        )

        def created(chunk: list[Row], answers: list[Row]) -> None:
            for payload, answer in zip(chunk, answers, strict=True):
                ids[tuple(payload[k] for k in spec.key)] = answer["id"]
            self.report.created[table] = self.report.created.get(table, 0) + len(chunk)

        def updated(chunk: list[Row], _: list[Row]) -> None:
            self.report.updated[table] = self.report.updated.get(table, 0) + len(chunk)

        try:
            self.write(table, "post", create, created)
            self.write(table, "patch", update, updated)
        finally:  # what did land can be referenced (and is reported) even if a later chunk was refused
            self.resolver.ids[table].update({names[k]: i for k, i in ids.items()})
            if table == "interfaces":
                self.resolver.interfaces.update({names[k]: i for k, i in ids.items()})
        return set(want)

    def write(
        self, table: str, verb: str, objects: list[Row], done: Callable[[list[Row], list[Row]], None]
    ) -> None:
        """Send ``objects`` in bulk chunks, :data:`IN_FLIGHT` at a time, calling ``done`` for each chunk
        NetBox saved. On a refusal no further chunk starts, those already sent are waited for (and counted:
        NetBox saves each whole or not at all), and the first refusal is raised."""
        chunks = [objects[start : start + CHUNK] for start in range(0, len(objects), CHUNK)]
        send = getattr(self.request(table), verb)
        futures = [self.pool.submit(_transport, table, send, chunk) for chunk in chunks]
        failure: NetBoxError | None = None
        for chunk, future in zip(chunks, futures, strict=True):
            if failure is not None and future.cancel():
                continue
            try:
                answers = future.result()
            except NetBoxError as exc:
                failure = failure or exc
                continue
            done(chunk, answers if isinstance(answers, list) else [])
        if failure is not None:
            raise failure

    def primary_addresses(self, rows: list[Row]) -> None:
        """Each device's primary IPv4 and IPv6 (its loopback addresses) and its out-of-band address (its
        management port's), set once they exist."""
        addresses = self.resolver.ids["ip-addresses"]
        want: dict[int, dict[str, int]] = {}
        for row in rows:
            device = self.resolver.id("devices", row["device"])
            if row["is_primary"] == "true":
                family = "primary_ip6" if ":" in row["address"] else "primary_ip4"
                want.setdefault(device or 0, {})[family] = addresses[row["address"]]
            if row["is_oob"] == "true":
                want.setdefault(device or 0, {})["oob_ip"] = addresses[row["address"]]
        update = []
        for device, target in sorted(want.items()):
            old = self.primaries.get(device, {})  # a device created by this push has none yet
            if any(old.get(f) != v for f, v in target.items()):
                update.append({"id": device, **target})

        def updated(chunk: list[Row], _: list[Row]) -> None:
            self.report.updated["devices"] = self.report.updated.get("devices", 0) + len(chunk)

        self.write("devices", "patch", update, updated)

    def delete_extras(self) -> None:
        for table, ids in reversed(self.extras):

            def deleted(chunk: list[Row], _: list[Row], table: str = table) -> None:
                self.report.deleted[table] = self.report.deleted.get(table, 0) + len(chunk)

            self.write(table, "delete", [{"id": i} for i in ids], deleted)


def _ref(table: str, spec: Spec, row: Row, payload: Row) -> Any:
    """The name other rows use for this row's object (see :class:`Resolver`)."""
    if table == "interfaces":
        return payload["device"], row["name"]
    if table == "vlans":
        return row["group"], int(row["vid"])  # a VID is unique in its group only
    return row[spec.ref_by]


def _parents_first(rows: list[Row]) -> list[list[Row]]:
    """Interfaces: the ports, then the sub-interfaces that name one of them as parent."""
    return [[r for r in rows if not r["parent"]], [r for r in rows if r["parent"]]]


def _levels(rows: list[Row]) -> list[list[Row]]:
    """Rows of a self-referencing table by depth: those without a parent, then their children, …"""
    placed: set[str] = set()
    levels: list[list[Row]] = []
    pending = list(rows)
    while pending:
        level = [r for r in pending if not r["parent"] or r["parent"] in placed]
        if not level:  # a parent that is nowhere in the table: let the resolver name it
            level = pending
        levels.append(level)
        placed |= {r["name"] for r in level}
        pending = [r for r in pending if r not in level]
    return levels


def _show(key: Key) -> str:
    return " ".join(str(k) for k in key)


def _transport(table: str, action: Callable[..., Any], *args: Any) -> Any:
    """``action(*args)`` against NetBox, its refusals and a lost connection as a :class:`NetBoxError`."""
    import pynetbox
    import requests

    try:
        return action(*args)
    except pynetbox.RequestError as exc:
        raise NetBoxError(f"NetBox refused {table}: {_request_error(exc)}") from None
    except (requests.exceptions.RequestException, ValueError) as exc:  # ValueError: an answer not JSON
        raise NetBoxError(f"lost NetBox during {table}: {type(exc).__name__}: {exc}") from None


def _request_error(exc: Any) -> str:
    try:
        detail = exc.error
    except AttributeError:
        detail = str(exc)
    return f"HTTP {getattr(exc.req, 'status_code', '?')}: {str(detail)[:1500]}"


def connect(url: str, token: str) -> Any:
    """A pynetbox API for ``url`` after checking it answers, accepts the token and has our custom fields."""
    import pynetbox
    import requests

    api = pynetbox.api(url.rstrip("/"), token=token)
    api.http_session.headers["Accept-Language"] = "en"
    try:
        fields = {f.name: f for f in api.extras.custom_fields.all()}
    except requests.exceptions.RequestException as exc:
        raise NetBoxError(f"cannot reach NetBox at {url}: {type(exc).__name__}: {exc}") from None
    except pynetbox.RequestError as exc:
        status = getattr(exc.req, "status_code", None)
        if status in (401, 403):
            raise NetBoxError(
                f"NetBox at {url} refused the token (HTTP {status}); check EGOV_NETBOX_TOKEN or --token-file"
            ) from None
        raise NetBoxError(f"NetBox at {url} answered {_request_error(exc)}") from None
    except ValueError as exc:  # an answer that is not NetBox's JSON (a proxy page, another service)
        raise NetBoxError(f"{url} does not answer like a NetBox API: {exc}") from None
    missing = []
    for name, (object_type, kind) in CUSTOM_FIELDS.items():
        found = fields.get(name)
        if found is None or object_type not in (found.object_types or []):
            missing.append(f"{name} ({kind}, on {object_type})")
    if missing:
        raise NetBoxError(
            f"NetBox at {url} lacks the custom field(s) the push fills: {', '.join(missing)}; "
            "an administrator creates them under Customization → Custom Fields (nothing was pushed)"
        )
    return api


def push(
    api: Any,
    tables: dict[str, list[Row]],
    prune: bool = False,
    progress: Callable[[str], None] = lambda _: None,
    in_flight: int = IN_FLIGHT,
) -> SyncReport:
    """Sync ``tables`` (from :func:`network.netbox.inventory_rows`) into NetBox; never raises for a NetBox
    refusal: the report's ``error`` says where it stopped, its counts what was written before, and
    ``not_pushed`` how many rows of each table it did not get to write or check. ``in_flight``: requests
    at once (as many as NetBox has workers)."""
    report = SyncReport()
    run = _Push(api, report, progress, in_flight)
    done: list[str] = []
    try:
        for table, rows in tables.items():
            run.table(table, rows)
            if table == "ip-addresses":
                run.primary_addresses(rows)
            done.append(table)
        if prune:
            run.delete_extras()
    except NetBoxError as exc:
        report.error = str(exc)
    except Exception as exc:  # anything else half-way: say so, with what was done
        report.error = f"{type(exc).__name__}: {exc}"
    finally:
        run.pool.shutdown(wait=True, cancel_futures=True)
    if report.error is not None:
        for table, rows in tables.items():
            if table not in done:
                counts = (report.created, report.updated, report.unchanged)
                landed = sum(count.get(table, 0) for count in counts)
                if len(rows) > landed:
                    report.not_pushed[table] = len(rows) - landed
    return report
