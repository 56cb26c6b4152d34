"""The real policy pack process: stacks/policy/__main__.py serves the analyzer protocol of the Pulumi CLI.

The CLI is not on our machines, so the test plays its part: it starts the pack as the CLI would, reads the
port the pack prints, and calls the analyzer over gRPC with resources the prod program declared.
"""

from __future__ import annotations

import os
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


def _resource(token: str, name: str, props: dict[str, Any]) -> analyzer_pb2.AnalyzerResource:
    properties = struct_pb2.Struct()
    json_format.ParseDict(props, properties)
    return analyzer_pb2.AnalyzerResource(
        type=token, name=name, urn=f"urn:pulumi:prod::egov-cloud::{token}::{name}", properties=properties
    )


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
    resources = [_resource(r.type, r.name, r.inputs) for r in prod_mocks.custom_resources()]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    assert [d.message for d in response.diagnostics] == []
    for r in prod_mocks.custom_resources():
        if r.type in ("openstack:identity/project:Project", "openstack:compute/flavor:Flavor"):
            assert _analyze(analyzer, r.type, r.name, r.inputs) == [], r.name
    greedy = [
        _resource(
            r.type,
            r.name,
            {**r.inputs, "ram": r.inputs["ram"] * 100} if r.name == "GAT-compute" else r.inputs,
        )
        for r in prod_mocks.custom_resources()
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=greedy))
    (diagnostic,) = response.diagnostics
    assert diagnostic.policyName == "quotas-within-capacity" and "Σ ram_mib" in diagnostic.message
