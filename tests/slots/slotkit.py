"""Helpers of the slots tests: the tiny hand-computable cloud, free ports, the real `egov slots serve`
subprocess, tokens made with the real CLI."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from egov.units import Q_
from network.params import DATA_DIR
from slots.bandwidth import FixedRate

EGOV = str(Path(sys.executable).with_name("egov"))

# The tiny cloud: one AZ of 10 hosts × 10 cores, 100 GiB RAM, 1000 GiB disk; ratios 1, nothing reserved, no
# HA reserve → usable VCPU 100, MEMORY_MB 1 024 000 MiB, DISK_GB 10 000 GiB; a block pool of 300 TB raw ×
# 3 replicas × full ratio 1 → 100 000 GB; a region object pool of 100 TB raw, 1 replica → 100 000 GB.
# With the 20 % target a line may carry 80 % of its usable: 80 vCPU, 80 000 GB of block storage.
TINY_CLOUD = """
region: tiny
host_models:
  h10: {cores: 10, ram: 100 GiB, local_disk: 1000 GiB}
allocation_ratios: {VCPU: 1.0, MEMORY_MB: 1.0, DISK_GB: 1.0}
reserved_per_host: {VCPU: 0 core, MEMORY_MB: 0 GiB, DISK_GB: 0 GiB}
availability_zones:
  - name: az-1
    ha_reserve_hosts: 0
    aggregates:
      - {name: az-1-gen, host_model: h10, hosts: 10, metadata: {class: general}}
storage_pools:
  - {name: az-1-rbd, kind: block, az: az-1, raw: 300 TB, redundancy: {replicas: 3}, full_ratio: 1.0,
     disk_unit: 1 TB}
  - {name: obj, kind: object, az: region, raw: 100 TB, redundancy: {replicas: 1}, full_ratio: 1.0,
     disk_unit: 1 TB}
expansions: []
"""
TINY_PLANNING = """
start_month: 2027-01
horizon_months: 24
headroom_target: 20%
lead_time_months: 6
migration_weekly_capacity: {weekly}
blackouts:
  - {{name: 春节, start: 2027-02-08, end: 2027-02-14}}
"""
TINY_DEPARTMENTS = "code,name,name_en\nAAA,甲厅,Dept A\nBBB,乙厅,Dept B\n"
HEADER = (
    "id,department,name,az,vcpu,ram (GB),disk (GiB),block_storage (TB),object_storage (TB),"
    "migration_month,annual_growth,yearly_factors\n"
)
#: Inventory of the tiny cloud: small systems (1 vCPU) and AAA-G (60 vCPU growing 50 % a year).
TINY_SYSTEMS = [
    "AAA-1,AAA,一号系统,az-1,1,1,10,0,0,2027-01,0%,",
    "AAA-2,AAA,二号系统,az-1,1,1,10,0,0,2027-01,0%,",
    "AAA-3,AAA,三号系统,az-1,1,1,10,0,0,2027-01,0%,",
    "AAA-G,AAA,增长系统,az-1,60,1,10,0,0,2027-01,50%,",
    "BBB-1,BBB,乙一系统,az-1,1,1,10,0,0,2027-01,0%,",
    "BBB-2,BBB,乙二系统,az-1,1,1,10,0,0,2027-01,0%,",
]
#: The province's backbone files write_tiny copies next to the tiny cloud (read by `egov slots serve`).
BACKBONE_FILES = ("network.yaml", "divisions.csv", "traffic.yaml")
#: Free rate the in-process tests give every department's path to the cloud DC, every month:
#: 500 Mbit/s × 7 days = 37.8 TB per week.
TINY_PATHS = FixedRate(Q_(500, "Mbit/s"), "the test link")


def write_tiny(root: Path, *, weekly: int = 2, extra_cloud: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cloud.yaml").write_text(
        TINY_CLOUD.replace("expansions: []\n", extra_cloud or "expansions: []\n")
    )
    (root / "planning.yaml").write_text(TINY_PLANNING.format(weekly=weekly))
    (root / "departments.csv").write_text(TINY_DEPARTMENTS)
    (root / "systems.csv").write_text(HEADER + "\n".join(TINY_SYSTEMS) + "\n")
    # The province's backbone, so that a server on this directory routes AAA's and BBB's transfers (the
    # in-process tests give admission TINY_PATHS instead).
    for name in BACKBONE_FILES:
        shutil.copyfile(DATA_DIR / name, root / name)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: str, data_dir: Path | None, log: Path) -> None:
        self.db, self.data_dir, self.log = db, data_dir, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, workers: int = 0) -> Server:
        """`egov slots serve`, or with ``workers`` gunicorn running that many uvicorn worker processes."""
        env = dict(os.environ)
        if workers:
            gunicorn = str(Path(sys.executable).with_name("gunicorn"))
            worker = "uvicorn.workers.UvicornWorker"
            argv = [
                gunicorn,
                "-w",
                str(workers),
                "-k",
                worker,
                "-b",
                f"127.0.0.1:{self.port}",
                "slots.api:from_env()",
            ]
            env["EGOV_SLOTS_DB"] = self.db
            if self.data_dir is not None:
                env["EGOV_DATA"] = str(self.data_dir)
        else:
            argv = [EGOV, "slots", "serve", "--db", self.db, "--port", str(self.port)]
            if self.data_dir is not None:
                argv += ["--data", str(self.data_dir)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError("server did not come up within 60 s")

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Stop the server and whatever workers it started (its own process group, by its id)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def token(db: str, data_dir: Path | None, *args: str) -> str:
    """Create a token with the real CLI; returns it (the CLI prints it once, on stdout)."""
    argv = [EGOV, "slots", "token", "create", "--db", db, *args]
    if data_dir is not None:
        argv += ["--data", str(data_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def bearer(value: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {value}"}
