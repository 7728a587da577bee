"""Robustness probing of judges: master keys, injections, position, verbosity, bias suite.

Typical use::

    from judgekit.probe import AttackSettings, plan_probe, run_phase, build_report

    phases = plan_probe(samples, ["master-keys"], protocol)
    results = [run_phase(p, runner) for p in phases]
    report = build_report(results)
"""

from judgekit.probe.attacks import ATTACKS, Attack, AttackSettings, ProbeItem, Rate
from judgekit.probe.keys import KeySet, MasterKey, bundled_keys, load_keys
from judgekit.probe.report import build_report, markdown_table, plot_report, table_rows, write_json
from judgekit.probe.run import Phase, PhaseResult, plan_probe, run_phase

__all__ = [
    "ATTACKS", "Attack", "AttackSettings", "KeySet", "MasterKey", "Phase", "PhaseResult", "ProbeItem", "Rate",
    "build_report", "bundled_keys", "load_keys", "markdown_table", "plan_probe", "plot_report", "run_phase",
    "table_rows", "write_json",
]
