"""Runs the playbooks through ansible-runner; its event stream becomes progress and a per-router summary."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLAYBOOKS = Path(__file__).resolve().parents[1] / "playbooks"
#: The task after which a router counts as done, per playbook (normal run, --check run).
MILESTONES = {
    "deploy.yml": ("Decide whether the batch holds", "Show the diff"),
    "verify.yml": ("Report", "Report"),
    "rollback.yml": ("Report", "Report"),
    "render.yml": ("Render each vendor's configs (egov network render)",) * 2,
}
ROLLBACK_TASKS = {
    "Re-apply the backup (frr-reload.py --reload)",
    "Re-apply the backup (ansible.netcommon.cli_config)",
}
APPLY_TASKS = {
    "Read the running config after the push",
    "Push the rendered config (ansible.netcommon.cli_config)",
}


@dataclass
class HostOutcome:
    """What happened to one router during a run."""

    changed: int = 0
    applied: bool = False
    rolled_back: bool = False
    verified: bool | None = None
    failed_task: str = ""
    message: str = ""
    unreachable: bool = False
    diff: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        if self.rolled_back:
            return "rolled back"
        if self.failed_task:
            return "failed"
        if self.verified is False:
            return "verify failed"
        return "changed" if self.applied else "unchanged"


@dataclass
class RunSummary:
    """A finished run: runner status, return code, per-router outcomes, duration and artifacts."""

    status: str
    rc: int
    hosts: dict[str, HostOutcome]
    seconds: float
    artifacts: Path

    @property
    def ok(self) -> bool:
        return self.rc == 0 and self.status == "successful"


class EventCollector:
    """Folds ansible-runner events into HostOutcomes and reports progress (router done, current task)."""

    def __init__(
        self, playbook: str, check: bool, on_progress: Callable[[str, str | None], None] | None = None
    ):
        self.hosts: dict[str, HostOutcome] = {}
        self.done: set[str] = set()
        self.milestone = MILESTONES.get(playbook, ("",) * 2)[1 if check else 0]
        self.on_progress = on_progress

    def __call__(self, event: Mapping[str, Any]) -> bool:
        kind = str(event.get("event", ""))
        data = event.get("event_data") or {}
        host = data.get("host") or data.get("remote_addr")
        task = str(data.get("task", ""))
        if kind == "playbook_on_task_start" and self.on_progress:
            self.on_progress(task, None)
        if not host or not kind.startswith("runner_on_") or kind == "runner_on_start":
            return True
        outcome = self.hosts.setdefault(host, HostOutcome())
        res = data.get("res") or {}
        self._fold(outcome, kind, task, res)
        finished = task == self.milestone or kind == "runner_on_unreachable"
        finished = finished or (kind == "runner_on_failed" and not _rescued(data))
        if finished and host not in self.done:
            self.done.add(host)
            if self.on_progress:
                self.on_progress(task, host)
        return True

    @staticmethod
    def _fold(outcome: HostOutcome, kind: str, task: str, res: Mapping[str, Any]) -> None:
        if kind == "runner_on_ok" and res.get("changed"):
            outcome.changed += 1
            if task in APPLY_TASKS:
                outcome.applied = True
            if task in ROLLBACK_TASKS:
                outcome.rolled_back = True
        if kind == "runner_on_ok" and task == "Show the diff":
            outcome.diff = [str(line) for line in res.get("msg") or []]
        if kind == "runner_on_ok" and task in ("Record success", "Record failure"):
            outcome.verified = task == "Record success"
        if kind == "runner_on_unreachable":
            outcome.unreachable = True
            outcome.message = str(res.get("msg", ""))
        if kind == "runner_on_failed" and task not in _RESCUED_TASKS:
            outcome.failed_task = task
            outcome.message = str(res.get("msg", ""))[:300]


#: Tasks whose failure is caught by verify.yml's rescue (a verify failure, not a run failure).
_RESCUED_TASKS = {
    "Wait for every expected OSPF adjacency to be Full",
    "Wait for every expected OSPFv3 adjacency to be Full",
    "Wait for every iBGP session to be Established",
    "Ping the core loopbacks from the router's loopback",
    "Wait for every expected OSPF neighbour to be Full",
    "Wait for every BGP peer to be Established",
}


def _rescued(data: Mapping[str, Any]) -> bool:
    return str(data.get("task", "")) in _RESCUED_TASKS


def runner_env() -> dict[str, str]:
    """ansible-runner's environment: the virtualenv's bin first on PATH (or ansible-playbook is not found)."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }


def run_playbook(
    playbook: str,
    inventory: Path,
    private_dir: Path,
    extravars: Mapping[str, Any],
    *,
    limit: str | None = None,
    check: bool = False,
    forks: int | None = None,
    on_progress: Callable[[str, str | None], None] | None = None,
) -> RunSummary:
    """Run ``playbook`` from playbooks/ against ``inventory``; artifacts go under ``private_dir``."""
    import ansible_runner

    collector = EventCollector(playbook, check, on_progress)
    cmdline = "--diff" + (" --check" if check else "")
    private_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    runner = ansible_runner.run(
        private_data_dir=str(private_dir),
        project_dir=str(PLAYBOOKS),
        playbook=playbook,
        inventory=str(inventory),
        extravars=dict(extravars),
        limit=limit,
        cmdline=cmdline,
        forks=forks,
        envvars=runner_env(),
        event_handler=collector,
        quiet=True,
        suppress_env_files=True,
        rotate_artifacts=20,
    )
    return RunSummary(
        status=str(runner.status),
        rc=int(runner.rc),
        hosts=collector.hosts,
        seconds=time.monotonic() - started,
        artifacts=Path(runner.config.artifact_dir),
    )
