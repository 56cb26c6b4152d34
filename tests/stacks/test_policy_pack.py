"""The real policy pack process: stacks/policy/__main__.py serves the analyzer protocol of the Pulumi CLI.

The CLI is not on our machines, so the test plays its part: it starts the pack as the CLI would, reads the
port the pack prints, and calls the analyzer over gRPC with resources the prod program declared.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from stacks.mocks import RecordingMocks

PACK = Path(__file__).resolve().parents[2] / "stacks" / "policy"
pytestmark = pytest.mark.xdist_group("pulumi")


@pytest.fixture(scope="module")
def analyzer() -> Iterator[Any]:
    process = subprocess.Popen(
        [sys.executable, str(PACK / "__main__.py")],
        cwd=PACK,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().decode().strip()
        if not port.isdigit():
            process.kill()
            _out, err = process.communicate(timeout=10)
            pytest.fail(f"policy pack did not start: {err.decode()[-2000:]}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _resource(
    token: str, name: str, props: dict[str, Any], protect: bool = False
) -> analyzer_pb2.AnalyzerResource:
    properties = struct_pb2.Struct()
    json_format.ParseDict(props, properties)
    return analyzer_pb2.AnalyzerResource(
        type=token,
        name=name,
        urn=f"urn:pulumi:prod::egov-cloud::{token}::{name}",
        properties=properties,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=protect),
    )


def _stack(mocks: RecordingMocks) -> list[analyzer_pb2.AnalyzerResource]:
    """The custom resources of a recorded run as the engine hands them to AnalyzeStack (with ``protect``)."""
    return [_resource(r.type, r.name, r.inputs, r.protect) for r in mocks.custom_resources()]


def _configure(analyzer: Any, config: dict[str, dict[str, Any]]) -> None:
    """What `--policy-pack-config FILE` makes the CLI send the pack."""
    policies = {}
    for name, properties in config.items():
        struct = struct_pb2.Struct()
        json_format.ParseDict(properties, struct)
        policies[name] = analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.MANDATORY, properties=struct)
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policies))


def _analyze(analyzer: Any, token: str, name: str, props: dict[str, Any]) -> list[str]:
    r = _resource(token, name, props)
    request = analyzer_pb2.AnalyzeRequest(type=r.type, name=r.name, urn=r.urn, properties=r.properties)
    return [d.message for d in analyzer.Analyze(request).diagnostics]


def test_pack_announces_its_policies(analyzer: Any) -> None:
    from google.protobuf import empty_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "egov-cloud"
    assert {p.name for p in info.policies} == {
        "quotas-within-capacity",
        "departments-never-deleted",
        "protected-kinds-stay-protected",
        "project-description-and-department",
        "flavor-fits-a-host",
        "no-management-port-open-to-world",
    }


def test_pack_refuses_ssh_open_to_the_world(analyzer: Any) -> None:
    rule = {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "portRangeMin": 22,
        "portRangeMax": 22,
    }
    token = "openstack:networking/secGroupRule:SecGroupRule"
    (message,) = _analyze(analyzer, token, "bad", {**rule, "remoteIpPrefix": "0.0.0.0/0"})
    assert "22/ssh" in message
    assert _analyze(analyzer, token, "good", {**rule, "remoteIpPrefix": "10.0.5.0/24"}) == []


def test_pack_checks_the_prod_program_over_grpc(analyzer: Any, prod_mocks: RecordingMocks) -> None:
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=_stack(prod_mocks)))
    assert [d.message for d in response.diagnostics] == []
    for r in prod_mocks.custom_resources():
        if r.type in ("openstack:identity/project:Project", "openstack:compute/flavor:Flavor"):
            assert _analyze(analyzer, r.type, r.name, r.inputs) == [], r.name
    greedy = [
        _resource(
            r.type,
            r.name,
            {**r.inputs, "ram": r.inputs["ram"] * 100} if r.name == "GAT-compute" else r.inputs,
            r.protect,
        )
        for r in prod_mocks.custom_resources()
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=greedy))
    (diagnostic,) = response.diagnostics
    assert diagnostic.policyName == "quotas-within-capacity" and "Σ ram_mib" in diagnostic.message
    # Human units through egov.units: GAT's RAM × 100 is petabytes of RAM against ~141 TiB usable (after the
    # per-class HA reserve), and the limit shown is that usable × the agreed oversubscription.
    found = re.search(
        r"PiB exceeds usable ([\d.]+) TiB × agreed oversubscription 1\.2 = ([\d.]+) TiB", diagnostic.message
    )
    assert found, diagnostic.message
    usable, limit = float(found[1]), float(found[2])
    assert 130 < usable < 150 and abs(limit - usable * 1.2) < 0.1


def test_removing_a_department_from_the_config_fails_the_preview_naming_it(analyzer: Any) -> None:
    """prod's `egov:departments: all` edited to a list without GAT: the stack would lose 公安厅's project."""
    from stacks.mocks import run_program
    from stacks.settings import load_stack_settings

    config, _ = load_stack_settings("prod")
    codes = [
        line.split(",")[0]
        for line in (PACK.parents[1] / "data" / "departments.csv")
        .read_text(encoding="utf-8-sig")
        .splitlines()[1:]
    ]
    assert "GAT" in codes and len(codes) == 122
    edited = {**config, "egov:departments": json.dumps([c for c in codes if c != "GAT"])}
    resources = _stack(run_program("prod", edited))
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    (diagnostic,) = response.diagnostics
    assert diagnostic.policyName == "departments-never-deleted"
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
    # The CLI prints the policy's description, then the violation: the department, code and name.
    assert "department GAT (省公安厅) would be deleted: GAT, GAT-users, GAT-compute" in diagnostic.message
    assert "Retiring a department" in diagnostic.message
    try:
        # Retired on purpose (the policy config says so): the same stack passes.
        _configure(analyzer, {"departments-never-deleted": {"departments": "all", "retired": ["GAT"]}})
        response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
        assert [d.message for d in response.diagnostics] == []
    finally:
        _configure(analyzer, {"departments-never-deleted": {"departments": "all", "retired": []}})


def test_an_unprotected_quota_fails_the_preview(analyzer: Any, prod_mocks: RecordingMocks) -> None:
    resources = [
        _resource(r.type, r.name, r.inputs, r.protect and r.name != "JYT-volume")
        for r in prod_mocks.custom_resources()
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    (diagnostic,) = response.diagnostics
    assert diagnostic.policyName == "protected-kinds-stay-protected"
    assert "Cinder quota JYT-volume" in diagnostic.message
