"""MLPS 2.0 (GB/T 22239-2019, level 3) evidence: for each control point, the generated lines and the tests
that prove it. Computed from the filters (each term names the control point it serves), never typed by hand.
"""

from __future__ import annotations

from typing import Any

from network.zonepolicy.policy import Filter

#: control point → (clause of GB/T 22239-2019, Chinese title, English title, the tests that prove it)
CONTROLS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "network-architecture": (
        "8.1.2.1",
        "网络架构：划分网络区域，重要区域与其他区域之间采取隔离手段",
        "network architecture: zones, with isolation between the important ones and the rest",
        (
            "tests/network/test_zonepolicy.py::test_every_intent_holds_for_every_vendor",
            "tests/network/test_zonepolicy.py::test_isolated_domain_has_no_path_and_its_filters_deny",
        ),
    ),
    "boundary-protection": (
        "8.1.3.1",
        "边界防护：跨越边界的访问和数据流通过边界设备受控接口进行通信",
        "boundary protection: traffic across a boundary only through controlled ports",
        (
            "tests/network/test_zonepolicy.py::test_every_intent_holds_for_every_vendor",
            "tests/network/test_zonepolicy.py::test_every_zone_port_has_its_filter_bound",
        ),
    ),
    "access-control": (
        "8.1.3.2",
        "访问控制：在网络边界或区域之间根据访问控制策略设置访问控制规则，默认拒绝",
        "access control: rules at boundaries between zones, deny by default, no redundant rule",
        (
            "tests/network/test_zonepolicy.py::test_no_unreachable_or_shadowed_line",
            "tests/network/test_zonepolicy.py::test_planted_allow_above_deny_fails_the_check",
            "tests/network/test_zonepolicy.py::test_vrp_default_permit_is_modelled_iosxe_implicit_deny_too",
        ),
    ),
    "intrusion-prevention": (
        "8.1.3.3",
        "入侵防范：在关键网络节点处检测、防止或限制从外部发起的网络攻击行为",
        "intrusion prevention: at key nodes, stop attacks started from outside (spoofed sources)",
        ("tests/network/test_zonepolicy.py::test_every_intent_holds_for_every_vendor",),
    ),
    "audit": (
        "8.1.3.5",
        "安全审计：在网络边界、重要网络节点进行安全审计（日志送达审计服务器）",
        "security audit: at boundaries and key nodes (logs reach the audit servers)",
        ("tests/network/test_zonepolicy.py::test_every_intent_holds_for_every_vendor",),
    ),
}


def evidence(filters: list[Filter]) -> list[dict[str, Any]]:
    """One entry per control point: clause, titles, the filter terms (by filter and term name) and tests."""
    out = []
    for control, (clause, zh, en, tests) in CONTROLS.items():
        lines = [
            f"{f.name} {t.name}"
            for f in filters
            for t in f.terms
            if t.control == control and not f.name.startswith("GD-DEPT-")
        ]
        departments = sum(
            1 for f in filters if f.name.startswith("GD-DEPT-") and any(t.control == control for t in f.terms)
        )
        if departments:
            lines.append(f"GD-DEPT-<CODE>-IN × {departments} (one per department)")
        out.append(
            {
                "control": control,
                "clause": clause,
                "title_zh": zh,
                "title_en": en,
                "lines": lines,
                "tests": tests,
            }
        )
    return out
