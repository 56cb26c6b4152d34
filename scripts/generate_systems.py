#!/usr/bin/env python3
"""Generate the default business-system inventory, data/systems.csv, deterministically.

The plan names 1,000+ business systems of 122 departments but publishes no inventory, so the default is
synthetic: the plan's flagship platforms as named systems with hand-set sizes, and the rest drawn with a
fixed seed from heavy-tailed (log-normal) distributions, because a few big platforms dominate a cloud's
demand while most systems are small. Run it again with the same seed and the file is byte-identical:

    .venv/bin/python scripts/generate_systems.py [--seed 2027] [--count 1054] [--out data/systems.csv]

Planners replace data/systems.csv with their own inventory (see README, "Your own inventory").
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HEADER = [
    "id",
    "department",
    "name",
    "az",
    "vcpu",
    "ram (GB)",
    "disk (GiB)",
    "vgpu",
    "block_storage (TB)",
    "object_storage (TB)",
    "migration_month",
    "annual_growth",
    "yearly_factors",
]

#: The column of the vGPU count: only the AI systems have one (an empty cell is none of that class).
VGPU_COLUMN = HEADER.index("vgpu")

# The plan's flagship platforms: (id, department, name, az, vcpu, ram GB, disk GiB, block TB, object TB,
# migration month, annual growth, yearly factors); they run no vGPU.
FLAGSHIPS = [
    ("GAT-0001", "GAT", "立体化治安防控平台", "gz-1", 1200, 4800, 4000, 150, 0, "2027-03", "25%", ""),
    (
        "GAT-0002",
        "GAT",
        "立体化治安防控视频存储",
        "gz-1",
        240,
        960,
        800,
        20,
        420,
        "2027-06",
        "",
        "1;1.5;2.1;2.7;3.3",
    ),
    ("WJW-0001", "WJW", "健康医疗大数据平台", "gz-1", 1000, 4000, 3000, 150, 80, "2027-04", "30%", ""),
    ("RST-0001", "RST", "人社综合大数据平台", "gz-2", 640, 2560, 2500, 120, 40, "2027-02", "22%", ""),
    ("XXZX-0001", "XXZX", "政务大数据库", "gz-2", 1280, 5120, 3500, 200, 60, "2027-01", "28%", ""),
    ("GSJ-0001", "GSJ", "市场监管信息平台", "gz-1", 600, 2400, 1500, 150, 20, "2027-05", "18%", ""),
    ("FGW-0001", "FGW", "信用广东", "gz-2", 400, 1600, 1000, 80, 10, "2027-03", "20%", ""),
    ("ZWFW-0001", "ZWFW", "广东省网上办事大厅", "gz-1", 800, 3200, 2000, 120, 30, "2027-01", "15%", ""),
    ("CZT-0001", "CZT", "财政国库集中支付系统", "gz-2", 320, 1280, 800, 60, 0, "2027-07", "10%", ""),
    ("DSJ-0001", "DSJ", "地税征管信息系统", "gz-1", 480, 1920, 1200, 90, 10, "2027-09", "12%", ""),
    ("JTT-0001", "JTT", "交通运输综合监测平台", "gz-2", 360, 1440, 900, 70, 80, "2027-08", "25%", ""),
    ("HBT-0001", "HBT", "环境监测大数据平台", "gz-1", 300, 1200, 800, 60, 40, "2027-10", "20%", ""),
]

# The departments' AI systems, served by the AI pool (智算资源池, cloud.yaml's GPU aggregates from 2027-01),
# in the header's order: (id, department, name, az, vcpu, ram GB, disk GiB, vGPU, block TB, object TB,
# migration month, annual growth, yearly factors). They go last, after the drawn systems, so the seed draws
# the same inventory as before they existed. Sizes: about 6 vCPU and 36 GB per vGPU (inference serving
# beside its GPU) and little storage: model weights, vector indexes and results (the video itself is archived
# by GAT-0002); the large model grows fastest as departments adopt it.
AI_SYSTEMS = [
    (
        "XXZX-AI01",
        "XXZX",
        "省级政务大模型服务平台",
        "gz-1",
        192,
        1152,
        2000,
        32,
        10,
        2,
        "2027-06",
        "45%",
        "",
    ),
    (
        "GAT-AI01",
        "GAT",
        "公安视频图像智能解析平台",
        "gz-1",
        128,
        768,
        1600,
        16,
        10,
        10,
        "2027-04",
        "30%",
        "",
    ),
    ("XXZX-AI02", "XXZX", "12345热线智能客服", "gz-1", 32, 192, 400, 4, 2, 0, "2027-09", "25%", ""),
    ("JTT-AI01", "JTT", "交通视频事件智能检测", "gz-2", 64, 384, 800, 8, 5, 5, "2027-08", "25%", ""),
]

# Departments that run many systems get a larger share of the rest.
BIG_DEPARTMENTS = {
    "GAT": 5,
    "RST": 4,
    "WJW": 4,
    "XXZX": 4,
    "FGW": 3,
    "GSJ": 3,
    "JTT": 3,
    "JYT": 3,
    "CZT": 3,
    "DSJ": 3,
    "GSSW": 3,
    "ZJT": 2,
    "GTT": 2,
    "HBT": 2,
    "MZT": 2,
    "SYJ": 2,
    "ZJJ": 2,
    "SLT": 2,
    "NYT": 2,
    "SWT": 2,
    "ZWFW": 2,
    "TJJ": 2,
}
KINDS = [
    "业务办理系统",
    "审批系统",
    "监管平台",
    "数据共享平台",
    "综合查询系统",
    "办公自动化系统",
    "统计分析系统",
    "门户网站",
    "档案管理系统",
    "视频会议系统",
    "应急指挥系统",
    "移动办公平台",
    "数据交换系统",
    "信息发布系统",
]


def _without_vgpu(row: list[str]) -> list[str]:
    """A row of a system that runs no vGPU: its vgpu cell empty."""
    return [*row[:VGPU_COLUMN], "", *row[VGPU_COLUMN:]]


def generate(seed: int, count: int) -> list[list[str]]:
    """``count`` rows of the inventory: the flagships, the drawn systems, then the AI systems."""
    departments = list(csv.DictReader((ROOT / "data" / "departments.csv").open(encoding="utf-8")))
    codes = [d["code"] for d in departments]
    names = {d["code"]: d["name"] for d in departments}
    weights = np.array([BIG_DEPARTMENTS.get(c, 1) for c in codes], dtype=float)
    rng = np.random.default_rng(seed)
    rows = [_without_vgpu(list(map(str, f))) for f in FLAGSHIPS]
    serial = {c: sum(1 for f in FLAGSHIPS if f[1] == c) for c in codes}
    # Every department has at least one system, then the rest follow the weights.
    owners = codes + list(
        rng.choice(
            codes, size=count - len(FLAGSHIPS) - len(AI_SYSTEMS) - len(codes), p=weights / weights.sum()
        )
    )
    for code in sorted(owners, key=codes.index):
        serial[code] += 1
        vcpu = int(np.clip(round(rng.lognormal(math.log(8), 0.9)), 2, 256))
        ram_per_vcpu = rng.choice([2, 4, 4, 4, 4, 8])
        block_tb = float(np.clip(rng.lognormal(math.log(0.3), 1.0), 0.1, 60))
        object_tb = (
            float(np.clip(rng.lognormal(math.log(1.0), 1.2), 0.1, 100)) if rng.random() < 0.25 else 0.0
        )
        month_index = int(min(29, rng.triangular(0, 0, 30)))
        month = f"{2027 + month_index // 12}-{month_index % 12 + 1:02d}"
        if rng.random() < 0.8:
            growth, factors = f"{np.clip(rng.normal(10, 6), 0, 40):.0f}%", ""
        else:
            steps = np.cumprod(np.clip(rng.normal(1.12, 0.08, size=4), 1.0, 1.4))
            growth, factors = "", ";".join(["1"] + [f"{s:.2f}" for s in steps])
        rows.append(
            _without_vgpu(
                [
                    f"{code}-{serial[code]:04d}",
                    code,
                    f"{names[code]}{KINDS[int(rng.integers(len(KINDS)))]}",
                    "gz-1" if rng.random() < 0.5 else "gz-2",
                    str(vcpu),
                    str(int(vcpu * ram_per_vcpu)),
                    str(40 * math.ceil(vcpu / 4)),
                    f"{block_tb:.1f}",
                    f"{object_tb:.1f}",
                    month,
                    growth,
                    factors,
                ]
            )
        )
    rows.extend(list(map(str, system)) for system in AI_SYSTEMS)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--count", type=int, default=1054)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "systems.csv")
    args = parser.parse_args()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(generate(args.seed, args.count))
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
