"""Running the program under Pulumi's official mocks, recording every registration.

There is no Pulumi CLI nor OpenStack cloud on our machines: ``egov stack plan``, the tests and the benchmark
run the real program against ``pulumi.runtime.Mocks``. The mocks accept everything, so what they record is
checked afterwards (duplicate names, counts, quotas against capacity, the policies).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import pulumi.runtime.settings
from pulumi.runtime.mocks import MockMonitor

from stacks.policy.policies import Resource

PROJECT = "egov-cloud"
#: The clouds.yaml of every mocked run (see the file): the operator's own never changes a review.
MOCK_CLOUDS = Path(__file__).resolve().with_name("mock-clouds.yaml")
#: What the mocked invokes answer: the role and auth-scope look-ups of the identity component.
OPERATOR_USER_ID = "operator-user-id"


@dataclass
class Registration:
    """One resource registration as the engine would receive it (inputs with the engine's camelCase keys)."""

    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    id: str
    #: Resource options the engine would store with it, and its parent's URN.
    protect: bool = False
    retain_on_delete: bool = False
    parent: str = ""


#: The registration request being answered on this thread (the monitor answers from a thread pool).
_current = threading.local()


class RecordingMonitor(MockMonitor):
    """Pulumi's mock monitor, keeping the request so the mocks can record options the engine would see.

    ``MockResourceArgs`` carries no resource options; ``protect``, ``retain_on_delete`` and the parent are
    what stacks.protection is about, so they are read from the registration request itself.
    """

    def RegisterResource(self, request: Any) -> Any:
        _current.request = request
        try:
            return super().RegisterResource(request)
        finally:
            _current.request = None

    def RegisterResourceOutputs(self, request: Any) -> Any:
        """Keep what each component registers as outputs (the ids operators and other stacks read)."""
        from pulumi.runtime import rpc

        if isinstance(self.mocks, RecordingMocks):
            name = request.urn.rsplit("::", 1)[-1]
            self.mocks.component_outputs[name] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that answer like a fresh OpenStack and keep every registration, in order."""

    registrations: list[Registration] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Component name → the outputs it registered (``register_outputs``), as the engine stores them.
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Called with the running count after each registration (a progress display).
    on_register: Callable[[int], None] | None = None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id = f"{args.name}-id"
        request = getattr(_current, "request", None)
        self.registrations.append(
            Registration(
                args.typ,
                args.name,
                dict(args.inputs),
                bool(args.custom),
                resource_id,
                protect=bool(request and request.protect),
                retain_on_delete=bool(request and request.retainOnDelete),
                parent=str(request.parent) if request is not None else "",
            )
        )
        if self.on_register is not None:
            self.on_register(len(self.registrations))
        return resource_id, dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        self.calls.append((args.token, dict(args.args)))
        if args.token == "openstack:identity/getRole:getRole":
            name = args.args["name"]
            return {"id": f"role-{name}-id", "name": name, "region": "mock", "domainId": ""}
        if args.token == "openstack:identity/getService:getService":
            name = args.args["name"]
            return {"id": f"service-{name}-id", "name": name, "enabled": True, "region": "mock"}
        if args.token == "openstack:identity/getAuthScope:getAuthScope":
            return {"id": "scope", "name": args.args.get("name", ""), "userId": OPERATOR_USER_ID}
        # An invoke the program starts using must be answered here on purpose, never with a silent default.
        raise LookupError(f"the mocks answer no invoke {args.token}: add it to {type(self).__name__}.call")

    # -- what the recorded run created -------------------------------------------------------------
    def custom_resources(self) -> list[Registration]:
        return [r for r in self.registrations if r.custom]

    def counts(self) -> dict[str, int]:
        """Resources per type token, sorted by token (component resources included)."""
        return dict(sorted(Counter(r.type for r in self.registrations).items()))

    def of_type(self, token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == token]

    def protection(self) -> dict[str, dict[str, int]]:
        """Per type token of the custom resources: how many are declared, how many of them protected."""
        table: dict[str, dict[str, int]] = {}
        for r in sorted(self.custom_resources(), key=lambda r: r.type):
            row = table.setdefault(r.type, {"resources": 0, "protected": 0})
            row["resources"] += 1
            row["protected"] += int(r.protect)
        return table

    def duplicates(self) -> list[tuple[str, str]]:
        """(type, name) pairs registered more than once: the mocks accept them, the engine would not."""
        seen = Counter((r.type, r.name) for r in self.registrations)
        return sorted(key for key, n in seen.items() if n > 1)

    def policy_view(self) -> list[Resource]:
        """The recorded resources as the policy pack sees a stack."""
        return [
            Resource(type=r.type, name=r.name, props=r.inputs, protect=r.protect)
            for r in self.custom_resources()
        ]


def reset_runtime(stack: str, config: Mapping[str, str], mocks: RecordingMocks) -> None:
    """Forget the previous run (root stack, settings, config) and install ``mocks`` for stack ``stack``."""
    pulumi.runtime.settings.reset_options(project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config(dict(config))
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=False, monitor=RecordingMonitor(mocks)
    )


@contextmanager
def mock_clouds_yaml() -> Iterator[Path]:
    """Point openstacksdk's config loader at :data:`MOCK_CLOUDS` for the duration of a mocked run."""
    before = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(MOCK_CLOUDS)
    try:
        yield MOCK_CLOUDS
    finally:
        if before is None:
            del os.environ["OS_CLIENT_CONFIG_FILE"]
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = before


def run_program(
    stack: str,
    config: Mapping[str, str],
    program: Callable[[], Any] | None = None,
    on_register: Callable[[int], None] | None = None,
) -> RecordingMocks:
    """Run ``program`` (default: the province program) under fresh mocks and wait for every registration."""
    from stacks.program import collector_paused, main

    mocks = RecordingMocks(on_register=on_register)
    reset_runtime(stack, config, mocks)
    body = program or main

    @pulumi.runtime.test
    def run() -> None:
        body()

    with collector_paused(), mock_clouds_yaml():
        run()
    return mocks
