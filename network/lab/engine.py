"""Builds and tears down a lab: namespaces, veths, addresses, tc shaping, FRR daemons, management sshd."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from network.lab import system
from network.lab.spec import DAEMON_ORDER, Endpoint, IfAddr, LabSpec, Router, namespace_name
from network.lab.system import FRR_BIN, FRR_ETC, FRR_RUN, LabError

STATE_ROOT = Path("/run/egov-lab")
#: Proportional memory (PSS) per daemon, MiB, FRR 8.4 with --limit-fds 1024: the default slice, and the towns
#: of a 195-router city lab (zebra 6.0, ospfd 5.5, ospf6d 5.1 there once converged).
DAEMON_MEMORY_MIB = {"zebra": 6.0, "ospfd": 5.5, "ospf6d": 5.2, "staticd": 2.5, "bgpd": 11.0, "bfdd": 3.0}
#: The same with shared pages (`build(share_pages=True)`: no address randomisation, KSM, --limit-fds 128),
#: per tier: the whole province converged (2026-11-30 21:21 and 22:19, 1,773 routers,
#: `lab.daemon_memory_by_tier`), the larger of the two, rounded up. A town takes more than in a 195-router
#: city lab (2.2 / 3.0 / 3.0 there): its zebra and ospf6d hold the routes and LSAs of a bigger province.
SHARED_DAEMON_MEMORY_MIB: dict[str, dict[str, float]] = {
    "town": {"zebra": 3.9, "ospfd": 2.8, "ospf6d": 3.2},
    "county": {"zebra": 3.2, "ospfd": 2.0, "ospf6d": 2.8, "bfdd": 1.1},
    "city": {"zebra": 3.3, "ospfd": 2.0, "ospf6d": 5.6, "bgpd": 2.3, "bfdd": 1.1, "staticd": 1.1},
    "core": {"zebra": 4.0, "ospfd": 2.2, "ospf6d": 12.4, "bgpd": 4.5, "bfdd": 1.7},
    "access": {"zebra": 3.5, "ospfd": 1.4, "ospf6d": 3.9, "bgpd": 2.3, "bfdd": 1.1},
}
#: Kernel state per router (namespace, veths, qdiscs, sockets, neighbour entries): the province's host memory
#: grew by 20,440 MiB, its daemons' PSS was 16,834 MiB — 2.0 MiB per router besides the daemons (22:19:
#: 20,977 and 18,327 MiB, 1.5 MiB).
ROUTER_KERNEL_MIB = 2.0
Progress = Callable[[str, int], None]
#: FRR sizes its per-thread poll and task tables by the fd limit. With shared pages the daemons get a lower
#: one: a lab router needs a few dozen fds at most (a core: 25 links, about 25 BGP sessions, zserv, vty).
FD_LIMIT = 1024
SHARED_FD_LIMIT = 128
#: Timer slack of the daemons of a lab with shared pages (the whole province), ns: the kernel may wake a
#: daemon's timer up to this late, so a daemon's many timers fire together. An idle FRR daemon is its
#: timers: ospfd re-arms a 1 s delayed-acknowledgement timer per interface and 5 s retransmit timers per
#: neighbour, each jittered, so a county's ospfd woke about 156 times a second, and each wake-up (ppoll,
#: signal masks, a context switch) costs this VM about 80 µs. Measured on the 195-router city lab (440100,
#: every town, converged; `lab.daemon_cpu_by_tier`): the routers' daemons took 0.234 of a core with the
#: kernel's default 50 µs, 0.028 with 100 ms — county ospfd 0.86 % → 0.045 %, town ospfd 0.042 % → 0.006 %,
#: a core router's bfdd 0.83 % → 0.17 %. 100 ms is a tenth of the shortest timer a --full lab runs (SPF's
#: 1 s delay; hellos and BFD at 10 s): no adjacency or session notices it. Not used by the default lab, whose
#: failover times are measured.
SHARED_TIMER_SLACK_NS = 100_000_000
#: Pages ksmd compares per 20 ms wake-up while routers start: about 800 MB/s, enough to keep up with them.
#: ksmd's CPU follows this rate and the lab's size: 12 % of a core at 4,000 (195-router city lab, measured).
KSM_PAGES_TO_SCAN = 4000
#: ... and once every router runs: merged pages stay merged, ksmd only has to catch pages written since.
#: Measured on a 328-router slice: 21 % of a core at 1,000 pages, 2.1 % at 100.
KSM_PAGES_TO_SCAN_STEADY = 200


@dataclass(frozen=True)
class StartPipeline:
    """How a lab's routers start: at most ``workers`` at a time, and a router's daemons only while the
    machine has room (the one place these limits are kept; `lab up` prints the ones it uses)."""

    #: Routers being set up (addresses, shaping, daemons) at once.
    workers: int
    #: A router's daemons start only while the 1-minute load average per CPU is at most this (a busy machine
    #: first works off the routers already started: their SPF runs and adjacencies).
    max_load_per_cpu: float
    #: ... and while this much memory is available (ksmd merges behind the routers already started; never
    #: run into the OOM killer on a machine shared with other work).
    reserve_mib: int
    #: The longest one router waits for memory before the build fails, naming the router.
    wait_s: float
    #: The longest one router waits for the load to fall before it starts anyway: the load gate paces the
    #: start, it must not fail a build because a neighbour keeps the machine busy.
    load_wait_s: float = 60.0


#: Labs up to a few hundred routers: start as fast as the machine goes (no load gate).
DEFAULT_PIPELINE = StartPipeline(workers=4, max_load_per_cpu=float("inf"), reserve_mib=1024, wait_s=600.0)
#: The whole province on 2 cores: 4 routers at a time (each start is a chain of short processes, half of it
#: waiting), and a brake on runaway load only (the attempt with N² mounts reached ~750). Not tighter: the
#: 1-minute load here counts thousands of daemon threads waking together, not CPU use — a 328-router slice
#: alone read 45 with the CPU mostly idle — and a gate that holds every router would take hours for 1,773.
FULL_PIPELINE = StartPipeline(
    workers=4, max_load_per_cpu=150.0, reserve_mib=1024, wait_s=600.0, load_wait_s=10.0
)


@dataclass(frozen=True)
class LabTimers:
    """Timers the lab sets instead of the rendered ones: a lab deviation, printed by `lab up --full` and
    listed in docs/lab.md; the stored configs of such a lab are the changed ones."""

    #: BFD transmit and receive interval of every BFD profile, ms (rendered: the model's, 200 ms).
    bfd_interval_ms: int
    #: SPF throttling of ospfd and ospf6d, ms: delay, initial hold, maximum hold (rendered: FRR's defaults,
    #: 0 / 50 / 5,000).
    spf_throttle_ms: tuple[int, int, int] | None = None
    #: The shortest OSPF and OSPFv3 hello and dead intervals, s: faster rendered ones are raised to these
    #: (rendered: 1 / 3 on links with an alternative path, 10 / 40 elsewhere).
    min_hello_dead_s: tuple[int, int] | None = None


#: The whole province on 2 cores: failure detection slowed to what a machine shared by 1,773 routers can
#: honour. At the rendered 200 ms × 3 the BFD sessions alone took about 1.25 of the 2 cores (bfdd 2.8 % of a
#: core per city router, 5 % per core router, measured on a 328-router slice). Worse, any few seconds in which
#: the start-up's work (LSA flooding, SPF, route installs) holds both cores delay hellos and BFD packets past
#: a 3 s detection time: the uplink adjacencies of counties and cities drop, their areas' summaries change
#: province-wide, every router recomputes and installs routes, and the load feeds itself — the attempt of
#: 2026-11-30 20:46 ran from load 30 to 2,300 within five minutes at 1,050 routers (BFD 1 s, hellos 1 s /
#: dead 3 s). So BFD at 10 s × 3 and OSPF hellos of at least 10 s (dead 40 s) everywhere, as the model
#: already gives the links without an alternative path; SPF at most every 20 s per router (FRR's default:
#: 5 s). The full lab proves that the province's routing converges and reaches every site; detection and
#: failover times are measured on the default lab, which runs the rendered timers (`lab failover`).
FULL_LAB_TIMERS = LabTimers(
    bfd_interval_ms=10000, spf_throttle_ms=(1000, 5000, 20000), min_hello_dead_s=(10, 40)
)
#: Routers start tier by tier from the top: a town's adjacency to its county forms as soon as it starts.
START_ORDER = ("core", "access", "isolated-core", "city", "isolated", "county", "town")
#: Teardown: how long killed daemons get to vanish before the rest is removed anyway and reported.
TEARDOWN_WAIT_S = 30.0

VTYSH_CONF = "service integrated-vtysh-config\n"
FRR_EXEC = """#!/bin/sh
# frr-exec NS CMD...: run CMD inside lab router NS (its network and UTS namespaces). Lab only.
ns="$1"; shift
exec nsenter -t "$(cat /var/run/frr/"$ns"/zebra.pid)" -u -n -- "$@"
"""


@dataclass(frozen=True)
class Management:
    """The management plane: a namespace with sshd, linked to the host by one veth."""

    namespace: str
    host_ifname: str
    host_address: str
    address: str
    state_dir: Path

    @property
    def key_file(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def frr_exec(self) -> Path:
        return self.state_dir / "bin" / "frr-exec"


def state_dir(prefix: str) -> Path:
    """Where the lab with ``prefix`` keeps its keys, sshd config and inventory (on tmpfs)."""
    return STATE_ROOT / prefix.rstrip("-_")


def management(prefix: str) -> Management:
    """The management plane of the lab with ``prefix`` (addresses derived from the prefix)."""
    third = zlib.crc32(prefix.encode()) % 250 + 2
    return Management(
        namespace=f"{prefix}_mgmt",
        host_ifname=f"{prefix.rstrip('-_')[:10]}-mgmt",
        host_address=f"198.18.{third}.1",
        address=f"198.18.{third}.2",
        state_dir=state_dir(prefix),
    )


# ---------------------------------------------------------------- teardown


def _kill(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _pids_of_pathspace(ns: str) -> list[int]:
    """Pids from the FRR pid files of pathspace ``ns`` (daemons outlive a deleted namespace)."""
    pids = []
    for pidfile in (FRR_RUN / ns).glob("*.pid"):
        try:
            pids.append(int(pidfile.read_text().strip()))
        except (OSError, ValueError):
            continue
    return pids


def _netns_inodes(names: Iterable[str]) -> dict[int, str]:
    """Inode of each named network namespace (its bind mount under /run/netns) → its name."""
    inodes = {}
    for ns in names:
        with contextlib.suppress(OSError):
            inodes[(system.NETNS_DIR / ns).stat().st_ino] = ns
    return inodes


def _lab_pids(prefix: str, netns_inodes: dict[int, str]) -> list[int]:
    """Processes of the lab, from one pass over /proc (bounded however many routers there are): those in one
    of its network namespaces, FRR daemons started with ``-N <prefix>…`` and its sshd, even if their
    namespace and pid files are already gone (a half-finished teardown or build)."""
    markers = (f" -N {prefix}", f" {state_dir(prefix)}/sshd_config")
    own = os.getpid()
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid == own:
            continue
        try:
            netns = os.readlink(proc / "ns" / "net")  # "net:[4026532291]"
            if int(netns[5:-1]) in netns_inodes:
                pids.append(pid)
                continue
            text = " " + (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        if any(marker in text for marker in markers):
            pids.append(pid)
    return pids


@dataclass(frozen=True)
class Teardown:
    """What a teardown removed, and what it could not (each named, for the operator to look at)."""

    namespaces: int
    processes_killed: int
    seconds: float
    processes_left: tuple[int, ...] = ()
    namespaces_left: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.processes_left and not self.namespaces_left


def _lab_namespaces(prefix: str) -> list[str]:
    """The lab's network namespaces, from /run/netns (`ip netns list` also asks each for its id)."""
    if not system.NETNS_DIR.exists():
        return []
    return sorted(p.name for p in system.NETNS_DIR.iterdir() if p.name.startswith(prefix))


def teardown(prefix: str, progress: Progress | None = None, wait_s: float = TEARDOWN_WAIT_S) -> Teardown:
    """Remove every trace of the lab with ``prefix``; safe to call on a half-built or absent lab.

    Kills its processes at once (SIGKILL: a lab router has nothing to save, and a daemon's orderly shutdown
    on a loaded machine is what stalls), waits at most ``wait_s`` for them to go, deletes the namespaces,
    the host end of the management veth, /etc/frr/<ns>, /var/run/frr/<ns> and the state directory, and
    reports what is left. Each step is bounded: one pass over /proc, one `ip -batch`.
    """
    started = time.monotonic()
    stale = _lab_namespaces(prefix)
    spaces = {p.name for base in (FRR_ETC, FRR_RUN) if base.exists() for p in base.glob(f"{prefix}*")}
    victims = set(_lab_pids(prefix, _netns_inodes(stale)))
    for ns in spaces:
        victims.update(_pids_of_pathspace(ns))
    victims.discard(os.getpid())
    killed = len(victims)
    _kill(victims, signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    left = sorted(victims)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [pid for pid in left if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
    system.ip_batch([f"netns delete {ns}" for ns in stale])
    mgmt = management(prefix)
    system.run(["ip", "link", "delete", mgmt.host_ifname], check=False)
    for ns in spaces | set(stale):
        shutil.rmtree(FRR_ETC / ns, ignore_errors=True)
        shutil.rmtree(FRR_RUN / ns, ignore_errors=True)
    shutil.rmtree(mgmt.state_dir, ignore_errors=True)
    if not _daemon_running("ospfd"):
        (FRR_RUN / "ospfd-gr.json").unlink(missing_ok=True)
        (FRR_RUN / "ospf6d-gr.json").unlink(missing_ok=True)
    if not _daemon_running("zebra"):
        system.stop_page_sharing()
    if progress:
        progress("teardown", len(stale))
    return Teardown(
        namespaces=len(stale),
        processes_killed=killed,
        seconds=round(time.monotonic() - started, 1),
        processes_left=tuple(left),
        namespaces_left=tuple(_lab_namespaces(prefix)),
    )


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def _daemon_running(name: str) -> bool:
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name and not _zombie(int(comm.parent.name)):
                return True
        except OSError:
            continue
    return False


# ---------------------------------------------------------------- build


def _veth_lines(spec: LabSpec, prefix: str) -> list[str]:
    lines = []
    for link in spec.links:
        a, b = link.a, link.b
        lines.append(
            f"link add name {a.ifname} netns {namespace_name(prefix, a.router)} mtu {link.mtu} type veth "
            f"peer name {b.ifname} netns {namespace_name(prefix, b.router)} mtu {link.mtu}"
        )
    return lines


def _router_ends(spec: LabSpec) -> dict[str, list[tuple[Endpoint, int]]]:
    """Each router's link ends with the link rate."""
    ends: dict[str, list[tuple[Endpoint, int]]] = {name: [] for name in spec.routers}
    for link in spec.links:
        ends[link.a.router].append((link.a, link.rate_bit_s))
        ends[link.b.router].append((link.b, link.rate_bit_s))
    return ends


def _sysctls(n_ifaces: int) -> list[str]:
    """Per-namespace kernel settings: forwarding, no rp_filter, enough multicast groups for OSPF."""
    groups = max(20, 4 * n_ifaces + 16)
    return [
        "net.ipv4.ip_forward=1",
        "net.ipv6.conf.all.forwarding=1",
        "net.ipv4.conf.all.rp_filter=0",
        "net.ipv4.conf.default.rp_filter=0",
        f"net.ipv4.igmp_max_memberships={groups}",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
        "net.ipv4.icmp_ratelimit=0",
    ]


def tbf_burst(rate_bit_s: int) -> int:
    """Token-bucket depth in bytes: 10 ms at line rate, at least 32 full frames."""
    return max(rate_bit_s // 8 // 100, 32 * 1514)


def _addr_line(address: IfAddr, ifname: str) -> str:
    """`ip addr add` for one address; IPv6 without duplicate address detection (no one else is on a veth)."""
    return f"addr add {address.with_prefixlen} dev {ifname}" + (" nodad" if address.version == 6 else "")


def stub_peer(ifname: str) -> str:
    """The in-namespace peer of a stub interface's veth."""
    return f"x{ifname[:14]}"


def _stub_lines(router: Router) -> list[str]:
    """VRF devices and stub interfaces for the ports without a peer router (LANs, customer ports)."""
    lines = []
    for vrf, table in router.vrfs:
        lines += [f"link add name {vrf} type vrf table {table}", f"link set {vrf} up"]
    for stub in router.stub_interfaces:
        # A veth whose peer stays in the namespace: always up with carrier, and needs no dummy module.
        lines.append(f"link add name {stub.ifname} type veth peer name {stub_peer(stub.ifname)}")
        lines.append(f"link set {stub_peer(stub.ifname)} up")
    for ifname, vrf in router.vrf_members:
        lines.append(f"link set {ifname} master {vrf}")
    for stub in router.stub_interfaces:
        lines += [_addr_line(a, stub.ifname) for a in stub.addresses]
        lines.append(f"link set {stub.ifname} up")
    return lines


def _address_lines(router: Router, ends: list[tuple[Endpoint, int]]) -> list[str]:
    lines = ["link set lo up", *_stub_lines(router)]
    for loopback in router.loopbacks:
        lines.append(_addr_line(loopback, "lo"))
    for end, _rate in ends:
        for address in end.addresses:
            lines.append(_addr_line(address, end.ifname))
        lines.append(f"link set {end.ifname} up")
    return lines


def _tc_lines(ends: list[tuple[Endpoint, int]]) -> list[str]:
    return [
        f"qdisc replace dev {end.ifname} root tbf rate {rate}bit burst {tbf_burst(rate)} latency 50ms"
        for end, rate in ends
    ]


def _write_router_files(ns: str, router: Router) -> None:
    """/etc/frr/<ns>/frr.conf (the rendered config, byte for byte) and vtysh.conf, owned by frr."""
    etc = FRR_ETC / ns
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "frr.conf").write_text(router.config)
    (etc / "vtysh.conf").write_text(VTYSH_CONF)
    (etc / "frr.conf").chmod(0o640)
    shutil.chown(etc, "frr", "frr")
    for name in ("frr.conf", "vtysh.conf"):
        shutil.chown(etc / name, "frr", "frr")


def _daemon_script(
    ns: str, router: Router, fd_limit: int = FD_LIMIT, timer_slack_ns: int | None = None
) -> str:
    """The shell run in the router's namespace and own UTS namespace: hostname, daemons, then vtysh -b.
    With ``timer_slack_ns`` the shell first sets its own timer slack, which the daemons inherit."""
    parts = [f"hostname {router.hostname}"]
    if timer_slack_ns is not None:
        parts.append(f"echo {timer_slack_ns} > /proc/self/timerslack_ns")
    for daemon in DAEMON_ORDER:
        if daemon in router.daemons:
            parts.append(f"{FRR_BIN / daemon} -N {ns} -d -P 0 --limit-fds {fd_limit}")
    parts.append(f"{system.VTYSH} -N {ns} -b >/dev/null")
    return " && ".join(parts)


def _configure_router(
    prefix: str,
    router: Router,
    ends: list[tuple[Endpoint, int]],
    share_pages: bool = False,
    pipeline: StartPipeline = DEFAULT_PIPELINE,
    stop: threading.Event | None = None,
) -> None:
    """Kernel settings, addresses and shaping of one router's namespace, then, once the machine has room
    (``pipeline``), its FRR daemons. Does nothing once ``stop`` is set (the build failed or stopped)."""
    stop = stop or threading.Event()
    if stop.is_set():
        return
    ns = namespace_name(prefix, router.hostname)
    system.run(system.in_ns(ns, ["sysctl", "-q", "-w", *_sysctls(len(ends))]))
    system.ip_batch(_address_lines(router, ends), ns=ns)
    tc = _tc_lines(ends)
    if tc:
        system.run(["tc", "-n", ns, "-force", "-batch", "-"], input_text="\n".join(tc) + "\n")
    _write_router_files(ns, router)
    if not _wait_for_room(router.hostname, pipeline, stop):
        return
    if not share_pages:
        script = _daemon_script(ns, router)
        system.run(system.in_ns(ns, ["unshare", "--uts", "sh", "-ec", script]), timeout=180)
        return
    # setarch -R: no address randomisation, so that the daemons' identical start-up pages are identical
    # byte for byte (pointers included) across routers and KSM can merge them.
    script = _daemon_script(ns, router, SHARED_FD_LIMIT, SHARED_TIMER_SLACK_NS)
    system.run(system.in_ns(ns, ["setarch", "-R", "unshare", "--uts", "sh", "-ec", script]), timeout=180)


def start_refusal(pipeline: StartPipeline, load_per_cpu: float, available_mib: int) -> str | None:
    """Why a router may not start its daemons now (None: it may)."""
    if available_mib < pipeline.reserve_mib:
        return f"only {available_mib} MiB available (a router starts with {pipeline.reserve_mib} MiB free)"
    if load_per_cpu > pipeline.max_load_per_cpu:
        return f"load {load_per_cpu:.1f} per CPU (a router starts at {pipeline.max_load_per_cpu:g} or less)"
    return None


def _load_per_cpu() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def _wait_for_room(hostname: str, pipeline: StartPipeline, stop: threading.Event) -> bool:
    """Block until the machine has room for one more router (True), or ``stop`` is set (False).

    Raises LabError when memory is still short after ``pipeline.wait_s``; a load still high after
    ``pipeline.load_wait_s`` lets the router start all the same.
    """
    started = time.monotonic()
    while True:
        available = system.mem_available_mib()
        refusal = start_refusal(pipeline, _load_per_cpu(), available)
        if refusal is None:
            break
        waited = time.monotonic() - started
        if available < pipeline.reserve_mib:
            if waited > pipeline.wait_s:
                raise LabError(f"{hostname}: {refusal} after waiting {pipeline.wait_s:.0f} s")
        elif waited > pipeline.load_wait_s:
            break
        if stop.wait(0.5):
            return False
    return not stop.is_set()


def neighbour_entries(spec: LabSpec) -> int:
    """Neighbour-table entries per address family the lab may hold at once, with room to spare: per link end
    its neighbour and the OSPF groups (AllSPFRouters, AllDRouters), per stub its LAN's hosts, and the
    host's own 1,024."""
    ends = 2 * len(spec.links) + sum(len(r.stub_interfaces) for r in spec.routers.values())
    return 1024 + 4 * ends


def start_order(spec: LabSpec) -> list[str]:
    """The routers in the order they start: by tier from the top (START_ORDER), then by name."""
    rank = {tier: i for i, tier in enumerate(START_ORDER)}
    return sorted(spec.routers, key=lambda name: (rank.get(spec.routers[name].tier, len(rank)), name))


def _start_management(prefix: str, spec_routers: Iterable[str]) -> Management:
    """Management namespace with sshd (key auth, keys on tmpfs), reachable from the host over one veth."""
    mgmt = management(prefix)
    sd = mgmt.state_dir
    (sd / "bin").mkdir(parents=True, exist_ok=True)
    os.chmod(sd, 0o700)
    mgmt.frr_exec.write_text(FRR_EXEC)
    mgmt.frr_exec.chmod(0o755)
    system.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"egov-lab-{prefix}", "-f", str(mgmt.key_file)]
    )
    host_key = sd / "ssh_host_ed25519_key"
    system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)])
    (sd / "authorized_keys").write_text((sd / "id_ed25519.pub").read_text())
    pub = (sd / "ssh_host_ed25519_key.pub").read_text().split()
    mgmt.known_hosts.write_text(f"{mgmt.address} {pub[0]} {pub[1]}\n")
    (sd / "sshd_config").write_text(
        "\n".join(
            [
                f"ListenAddress {mgmt.address}",
                f"HostKey {host_key}",
                f"PidFile {sd / 'sshd.pid'}",
                f"AuthorizedKeysFile {sd / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "MaxSessions 200",
                "MaxStartups 200:30:400",
                "LogLevel ERROR",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    system.ip_batch(
        [
            f"netns add {mgmt.namespace}",
            f"link add name {mgmt.host_ifname} type veth peer name mgmt0 netns {mgmt.namespace}",
            f"addr add {mgmt.host_address}/30 dev {mgmt.host_ifname}",
            f"link set {mgmt.host_ifname} up",
        ]
    )
    system.ip_batch(
        [f"addr add {mgmt.address}/30 dev mgmt0", "link set mgmt0 up", "link set lo up"], mgmt.namespace
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    system.run(system.in_ns(mgmt.namespace, ["/usr/sbin/sshd", "-f", str(sd / "sshd_config")]))
    (sd / "routers.json").write_text(json.dumps(sorted(spec_routers)))
    return mgmt


def build(
    spec: LabSpec,
    prefix: str,
    progress: Progress | None = None,
    share_pages: bool = False,
    pipeline: StartPipeline | None = None,
) -> Management:
    """Build the whole lab for ``spec`` under ``prefix`` (tearing down a stale one first).

    Routers start through ``pipeline`` (default: FULL_PIPELINE with shared pages, else DEFAULT_PIPELINE),
    top tier first. On any failure or interrupt no further router starts and the partial lab is torn down
    before the error propagates.
    """
    problems = spec.validate()
    if problems:
        raise LabError("lab spec is not buildable: " + "; ".join(problems[:10]))
    pipeline = pipeline or (FULL_PIPELINE if share_pages else DEFAULT_PIPELINE)
    teardown(prefix)
    system.raise_neighbour_tables(neighbour_entries(spec))
    if share_pages:
        system.share_identical_pages(KSM_PAGES_TO_SCAN)
    tick = progress or (lambda _stage, _n: None)
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=pipeline.workers)
    try:
        system.ip_batch([f"netns add {namespace_name(prefix, name)}" for name in spec.routers])
        tick("namespaces", len(spec.routers))
        system.ip_batch(_veth_lines(spec, prefix))
        tick("links", len(spec.links))
        ends = _router_ends(spec)

        def start(router: Router) -> None:
            try:
                _configure_router(prefix, router, ends[router.hostname], share_pages, pipeline, stop)
            except BaseException:
                stop.set()  # at once: the workers must not start the routers queued behind this one
                raise

        futures = [pool.submit(start, spec.routers[name]) for name in start_order(spec)]
        for future in futures:
            future.result()
            tick("routers", 1)
        pool.shutdown()
        if share_pages:
            system.set_ksm_pages_to_scan(KSM_PAGES_TO_SCAN_STEADY)
        mgmt = _start_management(prefix, spec.routers)
        tick("management", 1)
        return mgmt
    except BaseException:
        # Ctrl-C or a failed router: the routers still queued must not start while the lab is torn down.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        teardown(prefix)
        raise
