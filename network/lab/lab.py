"""A lab's lifecycle: build it from a spec, keep its spec, configs and inventory on tmpfs, wait, tear down."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from egov.atomic import write_text
from network.inventory import inventory_yaml
from network.lab import engine, system
from network.lab.check import (
    CheckReport,
    RouterState,
    adjacency_failures,
    routing_state,
    session_failures,
    unfinished_routers,
    watched_routers,
)
from network.lab.check import check as run_check
from network.lab.engine import DAEMON_MEMORY_MIB, ROUTER_KERNEL_MIB, SHARED_DAEMON_MEMORY_MIB, Management
from network.lab.inventory import lab_group_vars, lab_hosts
from network.lab.spec import LabSpec, namespace_name, spec_from_dict, spec_to_dict
from network.lab.system import LabError

DEFAULT_PREFIX = "egl-"


def configs_dir(prefix: str) -> Path:
    """The rendered configs the lab was built with (one <hostname>.conf each)."""
    return engine.state_dir(prefix) / "configs"


def inventory_path(prefix: str) -> Path:
    """The lab's generated Ansible inventory."""
    return engine.state_dir(prefix) / "inventory.yml"


def save(spec: LabSpec, prefix: str, mgmt: Management) -> None:
    """Store the spec, the configs and the inventory beside the lab's keys."""
    sd = engine.state_dir(prefix)
    for name, router in spec.routers.items():
        write_text(configs_dir(prefix) / f"{name}.conf", router.config)
    write_text(sd / "spec.json", json.dumps(spec_to_dict(spec)))
    write_text(inventory_path(prefix), inventory_yaml(lab_hosts(spec, prefix, mgmt), lab_group_vars(mgmt)))


def up(
    spec: LabSpec,
    prefix: str = DEFAULT_PREFIX,
    progress: engine.Progress | None = None,
    share_pages: bool = False,
    pipeline: engine.StartPipeline | None = None,
) -> Management:
    """Build the lab and store what later commands need; torn down again if anything fails. With
    ``share_pages`` the daemons' identical pages are merged (KSM): the whole province fits in 24 GiB.
    ``pipeline``: how the routers start (default: engine.FULL_PIPELINE with shared pages)."""
    mgmt = engine.build(spec, prefix, progress, share_pages=share_pages, pipeline=pipeline)
    try:
        save(spec, prefix, mgmt)
    except BaseException:
        engine.teardown(prefix)
        raise
    return mgmt


def load(prefix: str = DEFAULT_PREFIX) -> tuple[LabSpec, Management]:
    """The spec (with configs) and management plane of the running lab with ``prefix``."""
    sd = engine.state_dir(prefix)
    spec_file = sd / "spec.json"
    if not spec_file.exists():
        raise LabError(f"no lab is running under prefix {prefix!r} (no {spec_file}); start one with `lab up`")
    configs = {p.stem: p.read_text() for p in configs_dir(prefix).glob("*.conf")}
    return spec_from_dict(json.loads(spec_file.read_text()), configs), engine.management(prefix)


def down(prefix: str = DEFAULT_PREFIX) -> engine.Teardown:
    """Tear the lab down completely (bounded in time); what was removed and what is left."""
    return engine.teardown(prefix)


def wait_converged(
    spec: LabSpec,
    prefix: str,
    timeout: float = 600,
    poll: float = 2.0,
    on_poll: Callable[[int, int], None] | None = None,
) -> tuple[float, CheckReport]:
    """Wait until every adjacency is Full, every session Established and every ping answers.

    Each poll asks only the routers not yet seen with all their adjacencies and sessions up (one vtysh call
    costs about 30 ms of CPU: asking all 1,773 routers of the province every poll would keep a core busy);
    then one full check of every router and every ping decides. If that fails, all routers are polled again.
    Returns (seconds waited, the last full check). The report says what is still missing at the timeout.
    """
    started = time.monotonic()
    state: dict[str, RouterState] = {}
    pending = watched_routers(spec)
    while True:
        state.update(routing_state(prefix, spec, 16, routers=pending))
        pending = unfinished_routers(spec, state)
        if on_poll:
            on_poll(len(adjacency_failures(spec, state)), len(session_failures(spec.bgp_sessions, state)))
        timed_out = time.monotonic() - started > timeout
        if not pending or timed_out:
            report = run_check(spec, prefix)
            if report.ok or timed_out:
                return time.monotonic() - started, report
            state, pending = {}, watched_routers(spec)
        time.sleep(poll)


def free_memory_mib() -> int:
    """MemAvailable from /proc/meminfo in MiB."""
    return system.mem_available_mib()


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


def daemon_memory_mib(spec: LabSpec, prefix: str) -> float:
    """Proportional set size of every FRR daemon of the lab, in MiB (shared pages split fairly)."""
    total = 0
    for name in spec.routers:
        for pidfile in (engine.FRR_RUN / namespace_name(prefix, name)).glob("*.pid"):
            try:
                total += _pss_kib(int(pidfile.read_text().strip()))
            except (OSError, ValueError):
                continue
    return total / 1024


def daemon_memory_by_tier(spec: LabSpec, prefix: str) -> dict[str, dict[str, float]]:
    """Mean PSS (MiB) of each daemon per tier over the lab's routers: what SHARED_DAEMON_MEMORY_MIB keeps."""
    samples: dict[str, dict[str, list[int]]] = {}
    for name, router in spec.routers.items():
        for pidfile in (engine.FRR_RUN / namespace_name(prefix, name)).glob("*.pid"):
            try:
                kib = _pss_kib(int(pidfile.read_text().strip()))
            except (OSError, ValueError):
                continue
            samples.setdefault(router.tier, {}).setdefault(pidfile.stem, []).append(kib)
    return {
        tier: {daemon: round(sum(v) / len(v) / 1024, 2) for daemon, v in sorted(daemons.items())}
        for tier, daemons in sorted(samples.items())
    }


def router_memory_mib(tier: str, daemons: tuple[str, ...], shared: bool = False) -> float:
    """Expected memory of one router of ``tier`` running ``daemons``: measured PSS per daemon (with shared
    pages: the tier's figure where measured) plus its kernel state."""
    measured = SHARED_DAEMON_MEMORY_MIB.get(tier, {}) if shared else {}
    return sum(measured.get(d, DAEMON_MEMORY_MIB[d]) for d in daemons) + ROUTER_KERNEL_MIB


def memory_needed_mib(spec: LabSpec, shared: bool = False) -> int:
    """Memory the lab will take (measured per daemon and tier), plus 1 GiB of headroom for the host."""
    return round(sum(router_memory_mib(r.tier, r.daemons, shared) for r in spec.routers.values())) + 1024


def _cpu_ticks(pid: int) -> int:
    """User + system CPU time of ``pid`` so far, in clock ticks (0 once it is gone)."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError, ValueError):
        return 0


def _daemon_pids(spec: LabSpec, prefix: str) -> dict[tuple[str, str], list[int]]:
    """(tier, daemon) → pids of the lab's running FRR daemons, from their pid files."""
    pids: dict[tuple[str, str], list[int]] = {}
    for name, router in spec.routers.items():
        for pidfile in (engine.FRR_RUN / namespace_name(prefix, name)).glob("*.pid"):
            try:
                pids.setdefault((router.tier, pidfile.stem), []).append(int(pidfile.read_text().strip()))
            except (OSError, ValueError):
                continue
    return pids


def daemon_cpu_by_tier(spec: LabSpec, prefix: str, seconds: float = 30.0) -> dict[str, dict[str, float]]:
    """Mean CPU share of one core (0.01 = 1 %) of each daemon per tier over ``seconds`` of the running lab:
    what decides whether a lab of many routers fits the machine's cores at steady state."""
    import os

    pids = _daemon_pids(spec, prefix)
    before = {key: [_cpu_ticks(p) for p in group] for key, group in pids.items()}
    time.sleep(seconds)
    ticks = os.sysconf("SC_CLK_TCK") * seconds
    result: dict[str, dict[str, float]] = {}
    for (tier, daemon), group in sorted(pids.items()):
        used = [max(0, _cpu_ticks(p) - t0) for p, t0 in zip(group, before[(tier, daemon)], strict=True)]
        result.setdefault(tier, {})[daemon] = round(sum(used) / len(used) / ticks, 5)
    return result
