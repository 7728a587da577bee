"""Reports for a run directory: one self-contained HTML page, Markdown and JSON summaries.

A run directory holds ``results.jsonl`` (one Judgment per line), ``manifest.json``,
``summary.json`` from the judging run and, for ``judgekit eval`` runs,
``scores.json`` (see :mod:`judgekit.evaluation.benchmarks.scoring`). :func:`write_report`
adds ``report.html``, ``summary.md`` and ``report_summary.json`` (the judging
run's own ``summary.json`` is left untouched and copied into the report summary
under ``judge_summary``). :func:`compare_runs` pairs two eval runs item by item.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from judgekit.arena.report import arena_section
from judgekit.core.stats import MIN_N_SIGNIFICANT, brier_score, calibration_bins, expected_calibration_error
from judgekit.evaluation.benchmarks import compare_scores, get_benchmark, read_scores
from judgekit.evaluation.formatting import fmt, fmt_ci, significance_text
from judgekit.evaluation.report_html import render_html

REPORT_VERSION = 1
MANIFEST_KEYS = ("model_id", "protocol", "templates", "decoding", "config", "seed", "backend", "input",
                 "fingerprint", "versions", "python", "platform", "timings", "created_unix")


class ReportError(ValueError):
    """A run directory that cannot be reported on (missing or unreadable files)."""


@dataclass(frozen=True)
class RunData:
    """Everything a report reads from one run directory."""

    run_dir: Path
    manifest: Mapping[str, Any]
    results: tuple[Mapping[str, Any], ...]
    scores: Mapping[str, Any] | None
    judge_summary: Mapping[str, Any]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc


def load_run(run_dir: Path | str) -> RunData:
    """Read a run directory; ``results.jsonl`` is required, the rest optional."""
    run_dir = Path(run_dir)
    results_path = run_dir / "results.jsonl"
    if not results_path.exists():
        raise ReportError(f"{run_dir}: no results.jsonl (is this a judgekit run directory?)")
    rows = []
    for n, line in enumerate(results_path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ReportError(f"{results_path}, line {n}: not valid JSON ({exc.msg})") from exc
    manifest = _read_json(run_dir / "manifest.json") if (run_dir / "manifest.json").exists() else {}
    summary: Mapping[str, Any] = {}
    if (run_dir / "summary.json").exists():
        summary = _read_json(run_dir / "summary.json")
        if "report_version" in summary:  # written by an older judgekit that wrapped it
            summary = summary.get("judge_summary") or {}
    return RunData(run_dir, manifest, tuple(rows), read_scores(run_dir), summary)


def calibration(run: RunData, n_bins: int = 10) -> dict[str, Any] | None:
    """Reliability of verdict probabilities (logit mode) against known labels, if any."""
    labels: Mapping[str, Any] = (run.scores or {}).get("unit_labels") or {}
    conf, hit = [], []
    for r in run.results:
        probs, label = r.get("probs"), labels.get(str(r.get("sample_id")))
        if not probs or label is None or r.get("parse_failure"):
            continue
        pred = max(probs, key=lambda k: probs[k])
        conf.append(float(probs[pred]))
        hit.append(float(pred == label))
    if not conf:
        return None
    bins = calibration_bins(conf, hit, n_bins)
    return {"n": len(conf), "ece": expected_calibration_error(bins), "brier": brier_score(conf, hit),
            "bins": [asdict(b) for b in bins]}


def _manifest_view(manifest: Mapping[str, Any]) -> dict[str, Any]:
    view = {k: manifest[k] for k in MANIFEST_KEYS if k in manifest}
    for k, v in manifest.items():
        if k not in view and k != "judgekit_run":
            view[k] = v
    return view


def _judge_metrics(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Use a plain judging run's accuracy as the headline, if it has one."""
    out: dict[str, Any] = {}
    if summary.get("accuracy") is not None:
        out["overall"] = {"value": summary["accuracy"], "ci": summary.get("accuracy_ci95"),
                          "n": summary.get("labeled")}
    return out


def build_summary(run: RunData, comparison: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the JSON summary a report is drawn from (numbers identical to ``scores.json``)."""
    scores = run.scores or {}
    metrics = dict(scores.get("metrics") or _judge_metrics(run.judge_summary))
    primary = scores.get("primary", "overall")
    head = metrics.get(primary) or {}
    diag = dict(scores.get("diagnostics") or {})
    for k in ("parse_failure_rate", "tie_rate", "position_consistency"):
        if k not in diag and run.judge_summary.get(k) is not None:
            diag[k] = run.judge_summary[k]
    return {
        "report_version": REPORT_VERSION,
        "kind": "eval" if run.scores else "judge",
        "run_dir": str(run.run_dir),
        "benchmark": scores.get("benchmark"),
        "description": scores.get("description"),
        "upstream": scores.get("upstream"),
        "primary": primary,
        "primary_value": head.get("value"),
        "primary_ci": head.get("ci"),
        "items_total": scores.get("items_total", len(run.results)),
        "items_judged": scores.get("items_judged", len(run.results)),
        "items_missing": scores.get("items_missing", 0),
        "metrics": metrics,
        "diagnostics": diag,
        "bootstrap": scores.get("bootstrap"),
        "notes": scores.get("notes", []),
        "model": run.manifest.get("model_id"),
        "protocol": run.manifest.get("protocol"),
        "manifest": _manifest_view(run.manifest),
        "judging": scores.get("judging"),
        "calibration": calibration(run),
        "comparison": dict(comparison) if comparison else None,
        "judge_summary": dict(run.judge_summary),
        "baselines": scores.get("baselines") or {k: run.judge_summary[k] for k in BASELINE_KEYS
                                                  if k in run.judge_summary},
    }


BASELINE_KEYS = ("judge", "baselines", "best_baseline", "below_baseline", "length_strata")


def baseline_markdown(base: Mapping[str, Any]) -> list[str]:
    """The judge beside the trivial baselines on the same items (unit accuracy), and length strata."""
    if not base.get("baselines"):
        return []
    judge = base.get("judge") or {}
    lines = ["", "## Baselines on the same items", "", "| judge / baseline | accuracy | 95% CI | n |",
             "|---|---:|---|---:|"]
    if judge:
        lines.append(f"| **judge** | {fmt(judge.get('accuracy'))} | {fmt_ci(judge.get('ci95'))} | {judge.get('n')} |")
    for name, b in base["baselines"].items():
        lines.append(f"| {_md_cell(name)} | {fmt(b['accuracy'])} | {fmt_ci(b['ci95'])} | {b['n']} |")
    strata = base.get("length_strata")
    if strata:
        lo, sh = strata["preferred_longer"], strata["preferred_shorter"]
        lines += ["", f"Judge accuracy where the preferred response is longer: {fmt(lo['accuracy'])} "
                      f"({fmt_ci(lo['ci95'])}, n={lo['n']}); shorter: {fmt(sh['accuracy'])} "
                      f"({fmt_ci(sh['ci95'])}, n={sh['n']}); length-controlled: {fmt(strata['length_controlled'])}."]
    if base.get("below_baseline"):
        lines += ["", f"> **below baseline: {base['below_baseline']}** - the judge does not beat it on these items."]
    return lines


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: Mapping[str, Any]) -> str:
    """Render the Markdown summary: headline, metric table with intervals, diagnostics, comparison."""
    title = summary.get("benchmark") or "judging run"
    lines = [f"# judgekit report: {title}", ""]
    lines.append(f"- model: `{summary.get('model')}`  protocol: `{summary.get('protocol')}`")
    lines.append(f"- items judged: {summary.get('items_judged')} of {summary.get('items_total')}")
    judging = summary.get("judging") or {}
    if judging:
        lines.append(f"- judged {judging.get('mode')} ({judging.get('method')}); best-of-n: {judging.get('best_of_n')}")
    if summary.get("primary_value") is not None:
        lines.append(f"- **{summary.get('primary')}: {fmt(summary['primary_value'])}** "
                     f"(95% CI {fmt_ci(summary.get('primary_ci'))})")
    lines += ["", "| metric | value | 95% CI | n |", "|---|---:|---|---:|"]
    for key, m in (summary.get("metrics") or {}).items():
        lines.append(f"| {_md_cell(key)} | {fmt(m.get('value'))} | {fmt_ci(m.get('ci'))} | {fmt(m.get('n'))} |")
    diag = summary.get("diagnostics") or {}
    if diag:
        lines += ["", "## Judge diagnostics", "", "| diagnostic | value |", "|---|---:|"]
        lines += [f"| {_md_cell(k)} | {fmt(v)} |" for k, v in diag.items()]
    lines += baseline_markdown(summary.get("baselines") or {})
    cal = summary.get("calibration")
    if cal:
        lines += ["", f"Calibration over {cal['n']} verdicts: ECE {fmt(cal['ece'])}, Brier {fmt(cal['brier'])}."]
    comp = summary.get("comparison")
    if comp:
        lines += ["", "## Comparison (A = this run, B = other)", "",
                  "| benchmark | metric | A | B | A-B | 95% CI | p | n | significant |",
                  "|---|---|---:|---:|---:|---|---:|---:|---|"]
        for bench, c in (comp.get("benchmarks") or {}).items():
            for key, m in c.get("metrics", {}).items():
                lines.append(f"| {_md_cell(bench)} | {_md_cell(key)} | {fmt(m.get('a'))} | {fmt(m.get('b'))} | "
                             f"{fmt(m.get('diff'))} | {fmt_ci(m.get('ci'))} | {fmt(m.get('p_value'))} | "
                             f"{fmt(m.get('n'))} | {significance_text(m)} |")
    for note in summary.get("notes") or []:
        lines += ["", f"> {note}"]
    return "\n".join(lines) + "\n"


def _score_dirs(path: Path) -> dict[str, Path]:
    """Benchmark name -> run dir, for one eval run dir or a folder of them."""
    own = read_scores(path)
    if own is not None:
        return {str(own["benchmark"]): path}
    found: dict[str, Path] = {}
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        s = read_scores(sub)
        if s is not None:
            found.setdefault(str(s["benchmark"]), sub)
    return found


def compare_runs(run_a: Path | str, run_b: Path | str, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95, min_n: int = MIN_N_SIGNIFICANT) -> dict[str, Any]:
    """Paired bootstrap (A minus B) per benchmark both runs scored.

    ``run_a`` / ``run_b`` are eval run directories (with ``scores.json``) or folders
    of them. Items are paired by id; metrics get a difference, interval, p-value and
    a ``significant`` flag (interval excludes zero and at least ``min_n`` paired items).
    """
    a, b = _score_dirs(Path(run_a)), _score_dirs(Path(run_b))
    if not a or not b:
        raise ReportError("both runs need scores.json (run `judgekit eval` first)")
    out: dict[str, Any] = {"run_a": str(run_a), "run_b": str(run_b), "min_n": min_n, "benchmarks": {},
                           "only_a": sorted(set(a) - set(b)), "only_b": sorted(set(b) - set(a))}
    for name in sorted(set(a) & set(b)):
        sa, sb = read_scores(a[name]), read_scores(b[name])
        assert sa is not None and sb is not None
        out["benchmarks"][name] = compare_scores(sa, sb, get_benchmark(name), n_boot, seed, level, min_n)
    return out


def write_report(run_dir: Path | str, compare_with: Path | str | None = None, examples: int = 12,
                 n_boot: int = 1000, seed: int = 0, min_n: int = MIN_N_SIGNIFICANT) -> dict[str, Path]:
    """Write ``report.html``, ``summary.md`` and ``report_summary.json`` into ``run_dir``.

    With ``compare_with`` the report includes a paired comparison against that
    run. ``summary.json`` (the judging run's) is not modified. Returns the paths written.
    """
    run = load_run(run_dir)
    comparison = compare_runs(run.run_dir, compare_with, n_boot, seed, min_n=min_n) if compare_with else None
    summary = build_summary(run, comparison)
    paths = {"html": run.run_dir / "report.html", "markdown": run.run_dir / "summary.md",
             "json": run.run_dir / "report_summary.json"}
    html = render_html(summary, run.results, run.scores, examples, sections=(arena_section(run.run_dir),))
    paths["html"].write_text(html, encoding="utf-8")
    paths["markdown"].write_text(render_markdown(summary), encoding="utf-8")
    paths["json"].write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n",
                             encoding="utf-8")
    return paths
