"""A Pulumi bulk import file for adopting what already exists in the cloud. Computes only (no printing).

What the program declares is taken from a run under the mocks (the same run `egov stack plan` reviews), so
every resource lands at the URN the program gives it: its component parent and its logical name. Each kind
that can already exist is looked up by its OpenStack name in the live cloud through openstacksdk; the ids
found become ``pulumi import --file`` entries. Pulumi's format (``pulumi import --help``):

    {"nameTable": {"<name>": "<urn of an existing parent or provider>"},
     "resources": [{"type": …, "name": …, "id": …, "parent": "<name>", "component": true, …}]}

Two files, because a Swift container is read through its department's project-scoped provider, and a
provider is never imported: ``pulumi import`` creates the four components (``component: true``) and adopts
everything else, ``pulumi up --target`` on the scoped providers creates them (no cloud call), then the
containers file names those providers and the Storage component in its nameTable.

Kinds not looked up are created by ``pulumi up``: quotas and role assignments are idempotent PUTs in the
services; QoS specs, security group rules and router interfaces are listed as not looked up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stacks.mocks import PROJECT, Registration
from stacks.protection import CONTAINER, GROUP, NETWORK, SUBNET, VOLUME_TYPE
from stacks.protection import PROJECT as PROJECT_TYPE

FLAVOR = "openstack:compute/flavor:Flavor"
AGGREGATE = "openstack:compute/aggregateV2:AggregateV2"
ROUTER = "openstack:networking/router:Router"
SECURITY_GROUP = "openstack:networking/secGroup:SecGroup"
PROVIDER = "pulumi:providers:openstack"

#: Kinds looked up in the cloud, in the order their ids are needed (a project needs its domain's id, …).
LOOKED_UP = (
    PROJECT_TYPE,
    GROUP,
    FLAVOR,
    AGGREGATE,
    NETWORK,
    SUBNET,
    ROUTER,
    SECURITY_GROUP,
    VOLUME_TYPE,
    CONTAINER,
)
IDENTITY_KINDS = frozenset({PROJECT_TYPE, GROUP})


class Cloud(Protocol):
    """What the import needs of a cloud: openstacksdk's Connection answers it (tests give a fake)."""

    identity: Any
    compute: Any
    network: Any
    block_storage: Any

    def connect_as_project(self, project: str) -> Any: ...


@dataclass(frozen=True)
class Missing:
    """A resource the program declares that the cloud does not have (``pulumi up`` will create it)."""

    type: str
    name: str
    looked_for: str


@dataclass
class ImportPlan:
    """The two import files and what was not found."""

    stack: str
    main: dict[str, Any]
    containers: dict[str, Any]
    missing: list[Missing] = field(default_factory=list)
    not_looked_up: dict[str, int] = field(default_factory=dict)  # type token → resources

    @property
    def found(self) -> int:
        return sum(1 for r in self.main["resources"] if not r.get("component")) + len(
            self.containers["resources"]
        )


def _id_of(found: Any) -> str | None:
    return str(found.id) if found is not None else None


class Lookup:
    """Finds one declared resource in the cloud by name, resolving the mocks' placeholder ids on the way.

    Under the mocks a resource's id is ``<logical name>-id``; an input such as ``domainId`` or ``tenantId``
    holds that placeholder, which maps back to the logical name whose real id an earlier lookup found.
    """

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.real: dict[str, str | None] = {}  # placeholder id → the id found in the cloud (None: absent)

    def _real(self, placeholder: Any) -> str | None:
        return self.real.get(str(placeholder)) if placeholder else None

    def find(self, r: Registration) -> tuple[str | None, str]:
        """(the id in the cloud or None, what was looked for) of one declared resource."""
        name = str(r.inputs.get("name", r.name))
        finders: dict[str, Callable[[], tuple[Any, str]]] = {
            PROJECT_TYPE: lambda: self._project(r, name),
            GROUP: lambda: self._in_domain(self.cloud.identity.find_group, r, name, "group"),
            FLAVOR: lambda: (self.cloud.compute.find_flavor(name, ignore_missing=True), f"flavor {name}"),
            AGGREGATE: lambda: (
                next((a for a in self.cloud.compute.aggregates() if a.name == name), None),
                f"aggregate {name}",
            ),
            NETWORK: lambda: self._owned(self.cloud.network.find_network, r, name, "network"),
            SUBNET: lambda: self._subnet(r, name),
            ROUTER: lambda: self._owned(self.cloud.network.find_router, r, name, "router"),
            SECURITY_GROUP: lambda: self._owned(
                self.cloud.network.find_security_group, r, name, "security group"
            ),
            VOLUME_TYPE: lambda: (
                self.cloud.block_storage.find_type(name, ignore_missing=True),
                f"volume type {name}",
            ),
        }
        found, what = finders[r.type]()
        resource_id = _id_of(found)
        self.real[r.id] = resource_id
        return resource_id, what

    def _project(self, r: Registration, name: str) -> tuple[Any, str]:
        if r.inputs.get("isDomain"):
            return self.cloud.identity.find_domain(name, ignore_missing=True), f"domain {name}"
        return self._in_domain(self.cloud.identity.find_project, r, name, "project")

    def _in_domain(self, finder: Any, r: Registration, name: str, what: str) -> tuple[Any, str]:
        domain_id = self._real(r.inputs.get("domainId"))
        if domain_id is None:
            return None, f"{what} {name} (its domain is not there)"
        return finder(name, ignore_missing=True, domain_id=domain_id), f"{what} {name} in domain {domain_id}"

    def _owned(self, finder: Any, r: Registration, name: str, what: str) -> tuple[Any, str]:
        placeholder = r.inputs.get("tenantId")
        if placeholder is None:  # a shared zone network belongs to the admin project
            return finder(name, ignore_missing=True), f"{what} {name}"
        project_id = self._real(placeholder)
        if project_id is None:
            return None, f"{what} {name} (its project is not there)"
        return finder(
            name, ignore_missing=True, project_id=project_id
        ), f"{what} {name} of project {project_id}"

    def _subnet(self, r: Registration, name: str) -> tuple[Any, str]:
        network_id = self._real(r.inputs.get("networkId"))
        if network_id is None:
            return None, f"subnet {name} (its network is not there)"
        found = self.cloud.network.find_subnet(name, ignore_missing=True, network_id=network_id)
        return found, f"subnet {name} of network {network_id}"

    def container(self, name: str, project_placeholder: str) -> tuple[str | None, str]:
        """A Swift container in the account of its department's project (its id is its name)."""
        from openstack import exceptions

        project_id = self._real(project_placeholder)
        if project_id is None:
            return None, f"container {name} (its project is not there)"
        store = self.cloud.connect_as_project(project_id).object_store
        try:
            store.get_container_metadata(name)
        except exceptions.NotFoundException:
            return None, f"container {name} in the account of project {project_id}"
        return name, f"container {name} in the account of project {project_id}"


def urn(stack: str, parent_type: str | None, token: str, name: str) -> str:
    """The URN the engine gives a resource of the program (parent's type chain + own type + name)."""
    chain = f"{parent_type}${token}" if parent_type else token
    return f"urn:pulumi:{stack}::{PROJECT}::{chain}::{name}"


def import_plan(
    stack: str,
    registrations: Iterable[Registration],
    cloud: Cloud,
    kinds: Iterable[str] = LOOKED_UP,
    on_lookup: Callable[[int], None] | None = None,
) -> ImportPlan:
    """The import files of ``stack`` from its declared resources, with the ids found in ``cloud``."""
    wanted = set(kinds)
    declared = list(registrations)
    components = {r.name: r for r in declared if not r.custom}
    parent_of = {
        r.name: r.parent.rsplit("::", 1)[-1] for r in declared if r.parent and "egov:stacks:" in r.parent
    }
    lookup = Lookup(cloud)
    order = {token: i for i, token in enumerate(LOOKED_UP)}
    resources: list[dict[str, Any]] = []
    used_components: set[str] = set()
    missing: list[Missing] = []
    containers: list[Registration] = []
    not_looked_up: dict[str, int] = {}
    custom = [r for r in declared if r.custom and r.type != PROVIDER]
    done = 0
    # Kinds in LOOKED_UP order, the domain before the projects in it: each look-up needs the ids before it.
    for r in sorted(
        custom, key=lambda r: (order.get(r.type, len(order)), not r.inputs.get("isDomain"), r.name)
    ):
        if r.type not in wanted or r.type not in order:
            not_looked_up[r.type] = not_looked_up.get(r.type, 0) + 1
            continue
        if r.type == CONTAINER:
            containers.append(r)
            continue
        resource_id, what = lookup.find(r)
        done += 1
        if on_lookup is not None:
            on_lookup(done)
        if resource_id is None:
            missing.append(Missing(r.type, r.name, what))
            continue
        entry: dict[str, Any] = {"type": r.type, "name": r.name, "id": resource_id}
        if r.name in parent_of:
            entry["parent"] = parent_of[r.name]
            used_components.add(parent_of[r.name])
        resources.append(entry)
    main = {
        "resources": [
            {"type": components[c].type, "name": c, "component": True} for c in sorted(used_components)
        ]
        + resources
    }
    container_file: dict[str, Any] = {"nameTable": {}, "resources": []}
    by_name = {r.name: r for r in declared}
    for r in containers:
        code = r.name.removesuffix("-container")
        resource_id, what = lookup.container(str(r.inputs.get("name")), f"{code}-id")
        done += 1
        if on_lookup is not None:
            on_lookup(done)
        if resource_id is None:
            missing.append(Missing(r.type, r.name, what))
            continue
        parent = parent_of[r.name]
        provider = f"{code}-scoped"
        assert provider in by_name, provider
        table = container_file["nameTable"]
        # Made here, not taken from the mock monitor: its URNs put pulumi:pulumi:Stack in the type chain,
        # the engine's do not for children of the stack.
        table[parent] = urn(stack, None, components[parent].type, parent)
        table[provider] = urn(stack, components[parent].type, PROVIDER, provider)
        container_file["resources"].append(
            {"type": r.type, "name": r.name, "id": resource_id, "parent": parent, "provider": provider}
        )
    return ImportPlan(stack, main, container_file, missing, dict(sorted(not_looked_up.items())))


def planned_lookups(registrations: Iterable[Registration], kinds: Iterable[str] = LOOKED_UP) -> int:
    """How many look-ups :func:`import_plan` will make (for a progress bar)."""
    wanted = set(kinds) & set(LOOKED_UP)
    return sum(1 for r in registrations if r.custom and r.type in wanted)


# -- the file format, as `pulumi import --file` reads it -----------------------------------------------
#: JSON Schema of the import file (pulumi/pkg/cmd/pulumi import.go: importFile, importSpec).
IMPORT_FILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["resources"],
    "properties": {
        "nameTable": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": "^urn:pulumi:[^:]+::[^:]+::.+::.+$"},
        },
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "name"],
                "properties": {
                    "type": {"type": "string", "pattern": "^[^:]+:[^:]*:[^:]+$"},
                    "name": {"type": "string", "minLength": 1},
                    "id": {"type": "string", "minLength": 1},
                    "parent": {"type": "string", "minLength": 1},
                    "provider": {"type": "string", "minLength": 1},
                    "version": {"type": "string"},
                    "pluginDownloadUrl": {"type": "string"},
                    "properties": {"type": "array", "items": {"type": "string"}},
                    "component": {"type": "boolean"},
                    "remote": {"type": "boolean"},
                    "logicalName": {"type": "string"},
                },
                # A custom resource needs the id to import; a component is created empty and has none.
                "if": {"properties": {"component": {"const": True}}, "required": ["component"]},
                "then": {"not": {"required": ["id"]}},
                "else": {"required": ["id"]},
            },
        },
    },
}


def import_file_problems(document: dict[str, Any]) -> list[str]:
    """Why ``pulumi import --file`` would refuse ``document``: schema errors and unresolved references."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(IMPORT_FILE_SCHEMA)
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    if problems:
        return problems
    names = [r["name"] for r in document["resources"]]
    table = document.get("nameTable", {})
    problems += [f"resource name {n} appears twice" for n in sorted({n for n in names if names.count(n) > 1})]
    problems += [f"{n} is both in the nameTable and imported" for n in sorted(set(names) & set(table))]
    components = {r["name"] for r in document["resources"] if r.get("component")}
    for r in document["resources"]:
        for key in ("parent", "provider"):
            ref = r.get(key)
            if ref is not None and ref not in table and ref not in components:
                problems.append(
                    f"{r['name']}: {key} {ref} is neither in the nameTable nor a component of the file"
                )
    return problems


def containers_path(out: Path) -> Path:
    """Where the containers' import file goes beside ``out`` (import.json → import-containers.json)."""
    return out.with_name(f"{out.stem}-containers{out.suffix or '.json'}")


def write_import_files(plan: ImportPlan, out: Path) -> list[Path]:
    """Write the two files (sorted keys, UTF-8, LF); both are validated first, so nothing is half-written."""
    documents = [(out, plan.main), (containers_path(out), plan.containers)]
    for path, document in documents:
        problems = import_file_problems(document)
        if problems:
            raise ValueError(f"{path}: the import file would be invalid: {'; '.join(problems[:5])}")
    texts = [
        (path, json.dumps(document, ensure_ascii=False, indent=2) + "\n") for path, document in documents
    ]
    for path, text in texts:
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    return [path for path, _ in texts]


def stack_import_plan(
    stack: str,
    cloud_name: str | None,
    project_dir: Path,
    connect: Callable[[str], Cloud] | None = None,
    on_lookup: Callable[[int, int], None] | None = None,
) -> ImportPlan:
    """Run stack ``stack``'s program under the mocks and look its resources up in the cloud ``cloud_name``.

    ``cloud_name`` defaults to the stack's ``openstack:cloud``; ``connect`` to openstacksdk's
    ``openstack.connect(cloud=…)`` (the clouds.yaml entry, as the `openstack` CLI reads it).
    """
    from stacks.mocks import run_program
    from stacks.settings import load_stack_settings

    config, settings = load_stack_settings(stack, project_dir)
    name = cloud_name or settings.cloud
    if not name:
        raise ValueError("no cloud to look in: give --from-cloud or set openstack:cloud in the stack")
    registrations = run_program(stack, config).registrations
    if connect is None:
        import openstack

        def connect(entry: str) -> Cloud:
            return openstack.connect(cloud=entry)  # type: ignore[no-any-return]

    total = planned_lookups(registrations)
    progress = (lambda done: on_lookup(done, total)) if on_lookup is not None else None
    return import_plan(stack, registrations, connect(name), on_lookup=progress)
