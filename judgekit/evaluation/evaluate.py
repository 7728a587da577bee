"""Run a benchmark end to end through the ordinary judging path.

``run_eval`` loads a benchmark's published files, expands them into units
(:meth:`~judgekit.evaluation.benchmarks.EvalSet.units`), judges every unit with
:func:`judgekit.judge.run_judge` — the same batched, cached, resumable path as
``judgekit judge`` — scores the judgments with the benchmark's upstream rule and
writes ``scores.json`` plus the report.

Units are grouped by the protocol their metadata asks for. The run's own
protocol judges the units of its task; units whose item forces the other mode
(RewardBench 2's Ties are always rated) go to a companion protocol with the same
settings. One group is judged straight into ``run_dir``; with two groups each is
judged into ``run_dir/<mode>/`` and ``run_dir`` gets the merged ``results.jsonl``,
``manifest.json`` and ``summary.json``. A killed eval resumes because each
``run_judge`` resumes; a group that already finished with the same fingerprint
is reused without judging again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.core.baselines import baseline_summary
from judgekit.core.errors import ConfigError
from judgekit.core.metrics import summarize
from judgekit.core.rundir import write_atomic, write_json
from judgekit.core.runner import Runner
from judgekit.core.types import Sample
from judgekit.evaluation.benchmarks import (
    Benchmark,
    Mode,
    get_benchmark,
    outcomes_from_judgments,
    score_benchmark,
    write_scores,
)
from judgekit.evaluation.report import write_report
from judgekit.judge import file_digest, judgment_from_dict, run_fingerprint, run_judge
from judgekit.protocols.base import (
    JudgeConfig,
    Protocol,
    get_protocol,
    protocol_class,
    protocol_names,
)

GroupProgress = Callable[[str, int, int], None]
COMPANIONS: dict[str, str] = {"pointwise": "pointwise", "pairwise": "pairwise", "verify": "verify",
                              "listwise": "listwise"}
# order-free judges that score each response alone: a list forced on them is scored one response at a time
SCORED_LISTS: dict[str, str] = {"scalar-rm": "scalar-rm-pointwise",
                                **{n: f"{n}-pointwise" for n in ("pmi", "likelihood", "flip", "endogenous", "dpo")}}


@dataclass(frozen=True)
class GroupRun:
    """One protocol group of an eval: which units, judged how, where."""

    mode: str
    protocol: str
    method: str
    run_dir: Path
    units: int
    resumed: int
    reused: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (for the manifest and ``scores.json``)."""
        d = dataclasses.asdict(self)
        d["run_dir"] = str(self.run_dir)
        return d


@dataclass(frozen=True)
class EvalResult:
    """What a finished eval produced."""

    run_dir: Path
    benchmark: str
    scores: dict[str, Any]
    groups: tuple[GroupRun, ...]
    report: dict[str, Path]


def protocol_mode(protocol: Protocol) -> Mode:
    """Return the unit mode a protocol judges: its task, when that is pairwise or pointwise."""
    if protocol.task == "pairwise":
        return "pairwise"
    if protocol.task == "pointwise":
        return "pointwise"
    if protocol.task == "verify":
        return "verify"
    if protocol.task in ("listwise", "prm"):
        return protocol.task  # type: ignore[return-value]
    raise ConfigError(
        f"protocol {protocol.name!r} judges task {protocol.task!r}; benchmarks need a pairwise, pointwise, "
        "verify, listwise or prm protocol (e.g. --protocol pairwise, --protocol verify or --protocol listwise; "
        "processbench: prm)"
    )


def companion_protocol(mode: str, protocol: Protocol, extra: Sequence[tuple[str, Any]] = ()) -> Protocol:
    """Return the protocol for units forced into ``mode``, with the settings of ``protocol``.

    A protocol with a ``-pointwise`` twin (``pmi`` -> ``pmi-pointwise``, ``scalar-rm`` ->
    ``scalar-rm-pointwise``) scores forced-pointwise units with it, on the same model. When
    the companion does not support the run's method (pointwise has no logit mode) it runs
    generatively; the manifest and scores record that. Units forced into ``listwise``
    (Long-RewardBench's best-of-N rows) go to a pointwise run's own protocol, or the
    pointwise twin of an order-free scoring judge (scalar RM, PMI and the other likelihood
    judges): each candidate's score ranks the list. ``extra`` holds ``--option`` settings
    meant for companions (``permutations=identity`` for a pairwise run's lists); a
    companion takes those it declares.
    """
    if protocol_mode(protocol) == mode:
        return protocol
    if mode == "listwise" and protocol.task == "pointwise":
        return protocol  # a pointwise judge scores every candidate of a list; the scores rank them
    name = COMPANIONS[mode]
    config = protocol.config
    twin = f"{protocol.name}-pointwise"
    if mode == "listwise" and protocol.name in SCORED_LISTS:
        name = SCORED_LISTS[protocol.name]
    elif mode == "pointwise" and twin in protocol_names():  # a scoring judge's own pointwise form, same model
        name = twin
    elif config.method not in protocol_class(name).methods:
        config = dataclasses.replace(config, method="generative")
    own = protocol_class(name).option_names
    config = dataclasses.replace(config, options=(*config.options, *((k, v) for k, v in extra if k in own)))
    return get_protocol(name, config)


def companion_options(protocol_name: str, config: JudgeConfig) -> tuple[tuple, tuple]:
    """Split ``--option`` settings into the run protocol's own (and the shared flags') and its companions'."""
    cls = protocol_class(protocol_name).variant(config)
    own = (*cls.option_names, *cls.flag_options)
    options = config.options
    return (tuple((k, v) for k, v in options if k in own), tuple((k, v) for k, v in options if k not in own))


def group_units(units: Sequence[Sample]) -> dict[str, list[Sample]]:
    """Units by the mode their metadata asks for, in first-seen order."""
    groups: dict[str, list[Sample]] = {}
    for u in units:
        groups.setdefault(str(u.metadata.get("protocol", "pairwise")), []).append(u)
    return groups


def _read_results(path: Path) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows[str(row["sample_id"])] = row
    return rows


def finished_group(run_dir: Path, fingerprint: str, units: Sequence[Sample]) -> list[dict[str, Any]] | None:
    """Rows of a group already judged with this fingerprint covering every unit, else ``None``."""
    manifest, results = run_dir / "manifest.json", run_dir / "results.jsonl"
    if not (manifest.exists() and results.exists()) or (run_dir / "results.partial.jsonl").exists():
        return None
    try:
        if json.loads(manifest.read_text(encoding="utf-8")).get("fingerprint") != fingerprint:
            return None
        rows = _read_results(results)
    except (json.JSONDecodeError, KeyError, OSError):
        return None
    if any(u.id not in rows for u in units):
        return None
    return [rows[u.id] for u in units]


def _write_json(path: Path, data: Any) -> None:
    write_json(path, data)  # through a .tmp file that never follows a planted link


def _merge_top_level(
    run_dir: Path, units: Sequence[Sample], rows: Mapping[str, dict[str, Any]], manifests: Mapping[str, Any],
    main_mode: str, eval_info: dict[str, Any],
) -> None:
    """Write the merged results/manifest/summary of a multi-group eval into ``run_dir``."""
    write_atomic(run_dir / "results.jsonl", "".join(json.dumps(rows[u.id], ensure_ascii=False) + "\n" for u in units))
    manifest = dict(manifests[main_mode])
    manifest["templates"] = {t: h for m in manifests.values() for t, h in (m.get("templates") or {}).items()}
    manifest["groups"] = {mode: {k: m.get(k) for k in ("protocol", "templates", "config", "decoding", "fingerprint")}
                          for mode, m in manifests.items()}
    manifest["eval"] = eval_info
    _write_json(run_dir / "manifest.json", manifest)
    judgments = [judgment_from_dict(rows[u.id]) for u in units]
    _write_json(run_dir / "summary.json", summarize(units, judgments))


def _judge_group(
    units: list[Sample], protocol: Protocol, runner: Runner, group_dir: Path, path: Path, digest: str,
    resume: bool, progress: GroupProgress | None, label: str, eval_info: dict[str, Any], chunk_size: int,
) -> tuple[list[dict[str, Any]], dict[str, Any], int, bool]:
    """Judge one group (or reuse its finished run): rows, manifest, resumed count, reused flag."""
    fingerprint = run_fingerprint(protocol, runner, digest)
    reused = finished_group(group_dir, fingerprint, units) if resume else None
    if reused is not None:
        if progress:
            progress(label, len(units), len(units))
        manifest = json.loads((group_dir / "manifest.json").read_text(encoding="utf-8"))
        return reused, manifest, len(units), True

    def update(done: int, total: int) -> None:
        if progress:
            progress(label, done, total)

    result = run_judge(units, protocol, runner, group_dir, input_path=path, progress=update, resume=resume,
                       chunk_size=chunk_size, extra_manifest={"eval": eval_info})
    return [j.to_dict() for j in result.judgments], result.manifest, result.resumed, False


def run_eval(
    benchmark: str | Benchmark,
    path: Path,
    protocol: Protocol,
    runner: Runner,
    run_dir: Path,
    limit: int | None = None,
    progress: GroupProgress | None = None,
    resume: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    report: bool = True,
    examples: int = 12,
    chunk_size: int = 32,
    extra: Sequence[tuple[str, Any]] = (),
) -> EvalResult:
    """Judge and score a benchmark into ``run_dir`` (see the module docstring).

    ``extra``: ``--option`` settings for the companion protocols of units forced into another
    mode (:func:`companion_options` splits them off the run's own).

    Raises :class:`~judgekit.core.data.DataError` for unreadable benchmark files and
    :class:`~judgekit.core.errors.ConfigError` for a protocol that cannot
    judge preference items.
    """
    bench = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    path = Path(path)
    if not path.exists() and bench.fetch is not None:  # a hub dataset name (needs network)
        path = bench.fetch(str(path)) or path
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    main_mode = protocol_mode(protocol)
    if main_mode == "verify" and bench.default_mode != "verify":
        raise ConfigError(f"protocol {protocol.name!r} verifies against a reference; {bench.name} holds preference "
                          "items: judge them with a pairwise or pointwise protocol")
    if (main_mode == "prm") != (bench.default_mode == "prm"):
        raise ConfigError(f"benchmark {bench.name!r} needs " + ("--protocol prm" if bench.default_mode == "prm" else
                          "a pairwise, pointwise or listwise protocol (prm judges step-by-step solutions)"))
    evalset = bench.load(path, limit)
    units = evalset.units(main_mode)
    grouped = group_units(units)
    protocols = {mode: companion_protocol(mode, protocol, extra) for mode in grouped}
    used = {k for p in protocols.values() for k, _ in p.config.options}
    unused = [k for k, _ in extra if k not in used]
    if unused:
        raise ConfigError(f"--option {', '.join(unused)}: no protocol this run uses takes it "
                          f"({', '.join(sorted({p.name for p in protocols.values()}))})")
    run_dir.mkdir(parents=True, exist_ok=True)
    digest = file_digest(path)
    split = len(grouped) > 1
    eval_info: dict[str, Any] = {
        "benchmark": bench.name, "path": str(path), "limit": limit, "mode": main_mode,
        "items": len(evalset.items), "units": len(units),
        "protocols": {mode: {"protocol": p.name, "method": p.config.method, "units": len(grouped[mode])}
                      for mode, p in protocols.items()},
    }
    rows: dict[str, dict[str, Any]] = {}
    manifests: dict[str, Any] = {}
    groups: list[GroupRun] = []
    for mode, group in grouped.items():
        proto = protocols[mode]
        group_dir = run_dir / mode if split else run_dir
        label = f"{bench.name}: {proto.name} ({proto.config.method})"
        got, manifest, resumed, reused = _judge_group(group, proto, runner, group_dir, path, digest, resume,
                                                      progress, label, eval_info, chunk_size)
        rows.update({str(r["sample_id"]): r for r in got})
        manifests[mode] = manifest
        groups.append(GroupRun(mode, proto.name, proto.config.method, group_dir, len(group), resumed, reused))
    eval_info["groups"] = [g.to_dict() for g in groups]
    if split:
        head = main_mode if main_mode in manifests else next(iter(manifests))
        _merge_top_level(run_dir, units, rows, manifests, head, eval_info)
    outcomes = outcomes_from_judgments(units, [rows[u.id] for u in units])
    scores = score_benchmark(bench, evalset, outcomes, n_boot=n_boot, seed=seed)
    scores["judging"] = judging_record(main_mode, protocol, groups)
    # unit-level accuracy of the judge and of the trivial baselines on exactly these units
    scores["baselines"] = baseline_summary(units, [judgment_from_dict(rows[u.id]) for u in units], seed)
    scores["notes"] = [*scores.get("notes", []), *judging_notes(protocol, groups)]
    write_scores(run_dir, scores)
    paths: dict[str, Path] = {}
    if report:
        paths = write_report(run_dir, examples=examples, n_boot=n_boot, seed=seed)
    return EvalResult(run_dir, bench.name, scores, tuple(groups), paths)


def judging_record(mode: str, protocol: Protocol, groups: Sequence[GroupRun]) -> dict[str, Any]:
    """How the units were judged, for ``scores.json`` (the best-of-n choice included)."""
    best_of_n = (
        "pairwise: the chosen response is compared with each rejected one (both orders as configured); "
        "the item counts only if it wins every comparison"
        if mode == "pairwise"
        else "listwise: all candidates ranked in one prompt over several display orders; the benchmark's "
        "rating rule reads the mean Borda points"
        if mode == "listwise"
        else "pointwise: every candidate is rated independently; the benchmark's rule compares the ratings"
    )
    return {
        "mode": mode,
        "protocol": protocol.name,
        "method": protocol.config.method,
        "both_orders": protocol.config.both_orders,
        "samples": protocol.config.samples,
        "reduce": protocol.config.reduce,
        "best_of_n": best_of_n,
        "groups": [g.to_dict() for g in groups],
    }


def judging_notes(protocol: Protocol, groups: Sequence[GroupRun]) -> list[str]:
    """Human-readable notes for units not judged by the run's own protocol."""
    notes = []
    for g in groups:
        if g.protocol != protocol.name or g.method != protocol.config.method:
            notes.append(
                f"{g.units} unit(s) had to be judged {g.mode} and used protocol {g.protocol!r} "
                f"({g.method}) with the run's other settings; see {g.run_dir}."
            )
    return notes

