"""Likelihood judges, the logit judge and their learned combination, beside the trivial baselines.

Stages (each resumable: features are appended per batch and the call cache keeps every score):

    export JUDGEKIT_SHARED_DATA=/path/to/shared/data JUDGEKIT_THREADS=1
    python eval/likelihood_judges.py features --side dev   --per-source 40 --out runs/likelihood/dev.jsonl
    python eval/likelihood_judges.py features --side train --per-source 30 --out runs/likelihood/train.jsonl
    python eval/likelihood_judges.py table --train runs/likelihood/train.jsonl --dev runs/likelihood/dev.jsonl
    python eval/likelihood_judges.py features --side test  --per-source 40 --out runs/likelihood/test.jsonl
    python eval/likelihood_judges.py test-read --test runs/likelihood/test.jsonl   # the one test read

Sources per side: the split's LLMBar, HHH and PandaLM (non-tie) rows (``training/split.json``:
``heldout_ids`` = dev, ``test_ids`` = test, the rest = train), and the two constructed slices
of ``training/data/adversarial_pairs.jsonl`` (``adv-neighbor``, ``hhh-refusal``) by their
``side``. Items longer than ``--max-chars`` (instruction + both responses) are left out: the
embedded model's CPU budget. Each item's display order is a seeded coin, so the position
baselines are near 0.5.

Likelihood signals use the raw embedded SmolLM2-135M-Instruct; the logit judge is the shipped
``judgekit-135m`` (pairwise protocol, logit mode, both orders); ``dpo`` is the DPO implicit
reward with judgekit-135m (a LoRA-tuned copy of the base) as the policy and the base as reference.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.backend import get_backend  # noqa: E402
from judgekit.core.cache import CallCache  # noqa: E402
from judgekit.core.combination import Combination, fit, refusal_markers  # noqa: E402
from judgekit.core.data import load_samples  # noqa: E402
from judgekit.core.runner import Runner  # noqa: E402
from judgekit.core.types import Sample  # noqa: E402
from judgekit.evaluation.pair_baselines import BASELINES, baseline_predictions, credit, score_pairs  # noqa: E402
from judgekit.protocols import JudgeConfig, get_protocol  # noqa: E402
from judgekit.protocols.combined import SHIPPED  # noqa: E402
from judgekit.protocols.likelihood import DPOProtocol  # noqa: E402
from judgekit.train.recipe.split import read_split, read_test  # noqa: E402

SHARED = {"llmbar": ("llmbar/llmbar.jsonl", "llmbar"), "hhh": ("hhh_alignment/hhh_alignment.jsonl", "hhh"),
          "pandalm": ("pandalm/pandalm_testset_v1.jsonl", "pandalm")}
CONSTRUCTED = ("adv-neighbor", "hhh-refusal")
SOURCES = (*SHARED, *CONSTRUCTED)
ADVERSARIAL = ROOT / "training" / "data" / "adversarial_pairs.jsonl"
SPLIT = ROOT / "training" / "split.json"
# (name, protocol, options): each a single signal; the order lets the cache serve later ones
SIGNALS = (
    ("endogenous", "endogenous", (("norm", "token"),)),
    ("endogenous-none", "endogenous", (("norm", "none"),)),
    ("endogenous-zero", "endogenous", (("norm", "none"), ("terminal", "zero"))),
    ("forward-token", "likelihood", (("norm", "token"),)),
    ("forward-char", "likelihood", (("norm", "char"),)),
    ("forward-none", "likelihood", (("norm", "none"),)),
    ("pmi-token", "pmi", (("norm", "token"),)),
    ("pmi-char", "pmi", (("norm", "char"),)),
    ("pmi-none", "pmi", (("norm", "none"),)),
    ("flip-token", "flip", (("norm", "token"),)),
)
def shared_data() -> Path:
    return Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def side_items(side: str, per_source: int, max_chars: int, seed: int,
               source_caps: dict[str, int] | None = None) -> list[Sample]:
    """Up to ``per_source`` seeded items per source on ``side``, display order a seeded coin.

    ``source_caps``: a length cap per source in place of ``max_chars`` (HHH's 16 test rows are
    all longer than 2,500 characters, so the default cap leaves that source out of the test side).
    """
    dev, test = read_split(SPLIT), read_test(SPLIT)
    per: list[list[Sample]] = []
    for name in SOURCES:
        if name in SHARED:
            rel, key = SHARED[name]
            samples = load_samples(shared_data() / rel, "pairwise")
            on_side = {"dev": lambda s, k=key: s.id in dev[k], "test": lambda s, k=key: s.id in test[k],
                       "train": lambda s, k=key: s.id not in dev[k] and s.id not in test[k]}[side]
            samples = [s for s in samples if on_side(s)]
        else:
            rows = [json.loads(x) for x in ADVERSARIAL.read_text(encoding="utf-8").splitlines()]
            samples = [Sample(id=r["id"], prompt=r["prompt"], responses=(r["chosen"], r["rejected"]), label="A")
                       for r in rows if r["slice"] == name and r["side"] == side]
        cap = (source_caps or {}).get(name, max_chars)
        samples = [s for s in samples
                   if s.label in ("A", "B") and len(s.prompt) + sum(map(len, s.responses)) <= cap]
        rng = random.Random(f"{seed}:{name}:{side}")
        rng.shuffle(samples)
        per.append([])
        for s in samples[:per_source]:
            good = s.responses[0] if s.label == "A" else s.responses[1]
            bad = s.responses[1] if s.label == "A" else s.responses[0]
            first = rng.random() < 0.5
            per[-1].append(Sample(id=f"{name}:{s.id}", prompt=s.prompt, responses=(good, bad) if first else (bad, good),
                                  label="A" if first else "B", metadata={"source": name}))
    # interleaved by source, so a run stopped early has every source in it
    return [group[k] for k in range(max(map(len, per), default=0)) for group in per if k < len(group)]


def runners(cache_path: Path) -> tuple[Runner, Runner]:
    cache = CallCache(cache_path)
    raw = Runner(get_backend("transformers", model="embedded", batch_size=4), cache=cache)
    judge = Runner(get_backend("transformers", model="judgekit-135m", batch_size=4), cache=cache)
    return raw, judge


ALL_SIGNALS = (*(name for name, _, _ in SIGNALS), "dpo", "logit")


def features_for(batch: list[Sample], raw: Runner, judge: Runner, flip_gen: bool,
                 only: tuple[str, ...] = ALL_SIGNALS) -> list[dict[str, Any]]:
    """Every signal's scores and verdicts on ``batch`` (``only``: the signals to run; ``flip-gen`` on request)."""
    recs: list[dict[str, Any]] = [
        {"id": s.id, "source": s.metadata["source"], "label": s.label, "len": [len(r) for r in s.responses],
         "refusal": [refusal_markers(r) for r in s.responses], "scores": {}, "verdicts": {}, "seconds": {}}
        for s in batch
    ]
    signals = [sig for sig in SIGNALS if sig[0] in only] + ([("flip-gen", "flip-gen", ())] if flip_gen else [])
    for name, proto, options in signals:
        cfg = JudgeConfig(options=options, max_new_tokens=48) if proto == "flip-gen" else JudgeConfig(options=options)
        t0 = time.perf_counter()
        js = get_protocol(proto, cfg).judge(batch, raw)
        dt = time.perf_counter() - t0
        for rec, j in zip(recs, js, strict=True):
            rec["scores"][name] = list(j.scores) if j.scores else None
            rec["verdicts"][name] = j.verdict
            rec["seconds"][name] = dt / len(batch)
    # DPO implicit reward of the pair the project has: judgekit-135m (a LoRA-tuned copy) over its base
    if "dpo" in only:
        t0 = time.perf_counter()
        js = DPOProtocol(config=JudgeConfig(options=(("beta", "0.1"),)), reference_runner=raw).judge(batch, judge)
        dt = time.perf_counter() - t0
        for rec, j in zip(recs, js, strict=True):
            rec["scores"]["dpo"] = list(j.scores) if j.scores else None
            rec["verdicts"]["dpo"] = j.verdict
            rec["seconds"]["dpo"] = dt / len(batch)
    if "logit" not in only:
        return recs
    t0 = time.perf_counter()
    js = get_protocol("pairwise", JudgeConfig(method="logit")).judge(batch, judge)
    dt = time.perf_counter() - t0
    for rec, j in zip(recs, js, strict=True):
        p_a = j.reward if j.verdict is not None else None
        rec["scores"]["logit"] = [p_a, 1 - p_a] if p_a is not None else None
        rec["verdicts"]["logit"] = j.verdict
        rec["seconds"]["logit"] = dt / len(batch)
    return recs


def parse_signals(text: str | None) -> tuple[str, ...]:
    """``--signals a,b``: a subset of :data:`ALL_SIGNALS` (a misspelt name is an error)."""
    if not text:
        return ALL_SIGNALS
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ALL_SIGNALS]
    if unknown:
        raise SystemExit(f"--signals: unknown {', '.join(unknown)} (known: {', '.join(ALL_SIGNALS)})")
    return names


def parse_source_caps(items: list[str] | None) -> dict[str, int]:
    """``--source-max-chars hhh=7000``: a per-source length cap replacing ``--max-chars`` there."""
    caps: dict[str, int] = {}
    for item in items or []:
        name, _, value = item.partition("=")
        if name not in SOURCES or not value.isdigit():
            raise SystemExit(f"--source-max-chars: {item!r} is not SOURCE=CHARS (sources: {', '.join(SOURCES)})")
        caps[name] = int(value)
    return caps


def cmd_features(ns: argparse.Namespace) -> None:
    only = parse_signals(ns.signals)
    items = side_items(ns.side, ns.per_source, ns.max_chars, ns.seed, parse_source_caps(ns.source_max_chars))
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    old = {r["id"]: r for r in read(ns.out)} if ns.out.exists() else {}
    # records missing a requested signal are redone (the signals they have come from the call cache)
    # and keep their first run's timings
    todo = [s for s in items if s.id not in old or any(n not in old[s.id]["verdicts"] for n in only)]
    if ns.reverse:  # a second process from the other end (its own --out and --cache); `table` merges the files
        todo.reverse()
    print(f"{ns.side}: {len(items)} items, {len(todo)} to do", flush=True)
    raw, judge = runners(ns.cache)
    for k in range(0, len(todo), ns.batch):
        recs = features_for(todo[k : k + ns.batch], raw, judge, ns.flip_gen, only)
        for rec in recs:
            if rec["id"] in old:
                added = [n for n in only if n not in old[rec["id"]]["verdicts"]]
                rec["seconds"] = {**old[rec["id"]]["seconds"], **{n: rec["seconds"][n] for n in added}}
                rec["timing_note"] = f"{', '.join(added)} added later; the other timings are from the first run"
        with ns.out.open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in recs)
        print(f"  {k + len(recs)}/{len(todo)}", flush=True)


# -- tables -------------------------------------------------------------------------------------

def diffs(rec: dict[str, Any]) -> dict[str, float | None]:
    """Per-feature A - B differences (the combination's inputs)."""
    out: dict[str, float | None] = {}
    for name, sc in rec["scores"].items():
        out[name] = None if sc is None or None in sc else float(sc[0]) - float(sc[1])
    a, b = rec["len"]
    out["log-length"] = math.log1p(a) - math.log1p(b)
    out["refusal"] = float(rec["refusal"][0] - rec["refusal"][1])
    return out


def read(paths: Path | list[Path]) -> list[dict[str, Any]]:
    """Feature records of one or more files; a record written again later (a signal added) replaces the earlier one.

    A record with every signal wins over one without (two processes may both have written an item).
    """
    by_id: dict[str, dict[str, Any]] = {}
    for path in [paths] if isinstance(paths, Path) else paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                if rec["id"] not in by_id or len(rec["verdicts"]) >= len(by_id[rec["id"]]["verdicts"]):
                    by_id[rec["id"]] = rec
    return list(by_id.values())


def judge_rows(recs: list[dict[str, Any]], combos: dict[str, Combination], seed: int) -> dict[str, dict[str, Any]]:
    """Per source: every baseline, signal and combination's PairScore."""
    table: dict[str, dict[str, Any]] = {}
    for source in SOURCES:
        rs = [r for r in recs if r["source"] == source]
        if not rs:
            continue
        labels = [r["label"] for r in rs]
        la, lb = [r["len"][0] for r in rs], [r["len"][1] for r in rs]
        row: dict[str, Any] = {}
        for b in BASELINES:
            row[f"baseline:{b}"] = score_pairs(baseline_predictions(b, la, lb, seed), labels, la, lb)
        for name in dict.fromkeys(k for r in rs for k in r["verdicts"]):
            have = [r for r in rs if name in r["verdicts"]]  # a signal added mid-run is scored on its items
            row[name] = score_pairs([r["verdicts"][name] for r in have], [r["label"] for r in have],
                                    [r["len"][0] for r in have], [r["len"][1] for r in have])
        for cname, combo in combos.items():
            row[cname] = score_pairs([combo.predict(diffs(r)) for r in rs], labels, la, lb)
        table[source] = row
    return table


def mean_lc(table: dict[str, dict[str, Any]], judge: str) -> float:
    vals = [row[judge].length_controlled for row in table.values()]
    vals = [v if v is not None else row[judge].accuracy for v, row in zip(vals, table.values(), strict=True)]
    return sum(vals) / len(vals)


def pooled_lc_interval(recs: list[dict[str, Any]], predict: Any, seed: int, rounds: int = 2000) -> list[float]:
    """Length-controlled accuracy over all pairs, with a 95% bootstrap interval (pairs resampled within strata)."""
    strata: dict[bool, list[float]] = {True: [], False: []}
    for r in recs:
        a, b = r["len"]
        if a != b:
            strata[(a > b) == (r["label"] == "A")].append(credit(predict(r), r["label"]))
    if not strata[True] or not strata[False]:
        return [float("nan")] * 3
    rng = random.Random(seed)
    point = (sum(strata[True]) / len(strata[True]) + sum(strata[False]) / len(strata[False])) / 2
    draws = sorted(
        (sum(rng.choices(strata[True], k=len(strata[True]))) / len(strata[True])
         + sum(rng.choices(strata[False], k=len(strata[False]))) / len(strata[False])) / 2
        for _ in range(rounds))
    return [point, draws[int(0.025 * rounds)], draws[int(0.975 * rounds) - 1]]


def fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def markdown(table: dict[str, dict[str, Any]], title: str) -> str:
    lines = [f"#### {title}", ""]
    for source, row in table.items():
        best = max((k for k in row if k.startswith("baseline:")), key=lambda k: row[k].accuracy)
        lines += [f"**{source}** (n = {next(iter(row.values())).n}; best baseline: {best.split(':')[1]} "
                  f"{row[best].accuracy:.3f})", "",
                  "| judge | accuracy | 95% CI | preferred longer | preferred shorter | length-controlled "
                  "| beats best baseline |",
                  "|---|---|---|---|---|---|---|"]
        for name, sc in row.items():
            beats = "–"
            if not name.startswith("baseline:"):
                beats = "yes" if sc.low > row[best].accuracy else (
                    "no" if sc.accuracy <= row[best].accuracy else "within CI")
            lines.append(f"| {name} | {sc.accuracy:.3f} | {sc.low:.2f}–{sc.high:.2f} | {fmt(sc.longer_preferred)} "
                         f"(n={sc.n_longer}) | {fmt(sc.shorter_preferred)} (n={sc.n_shorter}) | "
                         f"{fmt(sc.length_controlled)} | {beats} |")
        lines.append("")
    return "\n".join(lines)


FEATURE_SETS = {
    "likelihood": ("pmi-token", "forward-token", "flip-token", "endogenous", "log-length", "refusal"),
    "likelihood+logit": ("pmi-token", "forward-token", "flip-token", "endogenous", "logit", "log-length", "refusal"),
    "pmi+length+refusal": ("pmi-token", "log-length", "refusal"),
}


def cmd_table(ns: argparse.Namespace) -> None:
    train, dev = read(ns.train), read(ns.dev)
    combos: dict[str, Combination] = {}
    for fname, feats in FEATURE_SETS.items():
        for l2 in (0.1, 1.0, 10.0):
            combos[f"combo:{fname}:l2={l2}"] = fit([diffs(r) for r in train], [r["label"] for r in train], feats, l2)
    dev_table = judge_rows(dev, combos, ns.seed)
    # choose on dev: the best combination, then the default among single signals and it
    best_combo = max(combos, key=lambda c: mean_lc(dev_table, c))
    singles = [k for k in next(iter(dev_table.values())) if not k.startswith(("baseline:", "combo:"))]
    best_single = max(singles, key=lambda c: mean_lc(dev_table, c))
    combo_used = mean_lc(dev_table, best_combo) > mean_lc(dev_table, best_single)
    # a default must run on one model: combinations mixing the raw base's likelihoods with judgekit-135m's
    # logit verdict (or the dpo pair) are reported, not shippable
    one_model = [c for c in combos if not any(f in ("logit", "dpo") for f in combos[c].features)]
    best_shippable_combo = max(one_model, key=lambda c: mean_lc(dev_table, c))
    candidates = [*(s for s in singles if s != "dpo"), best_shippable_combo]
    chosen = max(candidates, key=lambda c: mean_lc(dev_table, c))
    report: dict[str, Any] = {
        "train_pairs": len(train), "dev_pairs": len(dev),
        "mean_length_controlled_dev": {c: mean_lc(dev_table, c) for c in [*candidates]},
        "best_single_dev": best_single, "best_combination_dev": best_combo,
        "best_one_model_combination_dev": best_shippable_combo,
        "combination_beats_every_single_signal_on_dev": combo_used,
        "chosen_on_dev": chosen, "combination_weights": combos[best_combo].to_dict(),
    }
    def predictor(name: str) -> Any:
        if name in combos:
            return lambda r: combos[name].predict(diffs(r))
        return lambda r: r["verdicts"].get(name)

    top = sorted(candidates, key=lambda c: -mean_lc(dev_table, c))[:4]
    pooled = {c: pooled_lc_interval(dev, predictor(c), ns.seed) for c in dict.fromkeys([*top, best_combo, "logit"])}
    ship = chosen != "logit" and pooled[chosen][1] > 0.5 and mean_lc(dev_table, chosen) > mean_lc(dev_table, "logit")
    report["pooled_length_controlled_dev"] = pooled
    report["default_decision"] = (
        f"ship {chosen} as the pairwise default" if ship else
        f"keep the logit judge: the best candidate on dev ({chosen}) has pooled length-controlled accuracy "
        f"{pooled[chosen][0]:.3f} (95% {pooled[chosen][1]:.3f}-{pooled[chosen][2]:.3f}), "
        + ("which is the logit judge itself" if chosen == "logit" else "whose interval does not clear 0.5"))
    if ns.ship and ship and chosen in combos:  # the combination becomes the `combined` protocol's shipped weights
        SHIPPED.write_text(json.dumps({
            "name": chosen, **combos[chosen].to_dict(), "model": "smollm2 (raw embedded SmolLM2-135M-Instruct)",
            "trained_on": f"train side, {len(train)} pairs", "chosen_on": f"dev side, {len(dev)} pairs",
            "dev_mean_length_controlled": mean_lc(dev_table, chosen), "dev_pooled_length_controlled": pooled[chosen],
            "command": "python eval/likelihood_judges.py " + " ".join(sys.argv[1:])}, indent=1) + "\n",
            encoding="utf-8")
        report["shipped"] = str(SHIPPED.relative_to(ROOT))
    keep = {c: combos[c] for c in dict.fromkeys([best_combo, best_shippable_combo])}
    text = [markdown(judge_rows(dev, keep, ns.seed), "dev"), "#### speed (dev run)", "", speed(dev), ""]
    if ns.test:  # the one read of the test side: recorded next to the split
        test_table = judge_rows(read(ns.test), keep, ns.seed)
        with (ROOT / "training" / "test_reads.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": sys.argv,
                                 "configs": [*singles, *keep], "chosen_on_dev": chosen,
                                 "test_pairs": len(read(ns.test))}) + "\n")
        report["mean_length_controlled_test"] = {c: mean_lc(test_table, c) for c in [*singles, *keep]}
        text.append(markdown(test_table, "test (read once)"))
    ns.report.parent.mkdir(parents=True, exist_ok=True)
    ns.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    print("\n".join(text))


# -- the test read (eval/likelihood_test_read.py) ---------------------------------------------

SHIPPED_PAIRWISE = "pmi-none"  # `-p pmi`, raw base, norm=none: chosen on dev (docs/likelihood_judges.md)
TEST_READS = ROOT / "training" / "test_reads.jsonl"


def speed(recs: list[dict[str, Any]]) -> str:
    """Judgments/s per judge from the features run's timings (same process, same load, interleaved).

    The signals run one after another on a shared cache, so each one's recorded time is
    only what it added: forward likelihood alone costs the endogenous pass (the same
    forward pass; the soft values are free), PMI alone that pass plus its unconditional
    one; FLIP and the logit judge (both orders) are their own passes.
    """
    def mean(key: str) -> float:
        return sum(r["seconds"][key] for r in recs if key in r["seconds"]) / sum(key in r["seconds"] for r in recs)

    own = {"logit (judgekit-135m, both orders)": mean("logit"), "forward likelihood": mean("endogenous"),
           "endogenous reward": mean("endogenous"), "PMI": mean("endogenous") + mean("pmi-token"),
           "FLIP (likelihood form)": mean("flip-token"),
           "DPO implicit reward (policy pass; reference = the forward pass)": mean("dpo") + mean("endogenous")}
    base = own["logit (judgekit-135m, both orders)"]
    lines = ["| judge | seconds per pair | judgments/s | vs logit mode |", "|---|---|---|---|"]
    for name, sec in own.items():
        lines.append(f"| {name} | {sec:.1f} | {1 / sec:.3f} | {base / sec:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features")
    f.add_argument("--side", choices=("train", "dev", "test"), required=True)
    f.add_argument("--per-source", type=int, default=40)
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--cache", type=Path, default=ROOT / "runs" / "likelihood" / "calls.sqlite")
    f.add_argument("--batch", type=int, default=5)
    f.add_argument("--flip-gen", action="store_true")
    f.add_argument("--reverse", action="store_true", help="work from the last item backwards")
    f.add_argument("--signals", default=None, help=f"comma-separated subset of: {', '.join(ALL_SIGNALS)}")
    f.add_argument("--source-max-chars", nargs="*", default=None, metavar="SOURCE=CHARS")
    t = sub.add_parser("table")
    t.add_argument("--train", type=Path, nargs="+", required=True)
    t.add_argument("--dev", type=Path, nargs="+", required=True)
    t.add_argument("--test", type=Path, nargs="+")
    t.add_argument("--report", type=Path, default=ROOT / "runs" / "likelihood" / "report.json")
    t.add_argument("--ship", action="store_true",
                   help="write the chosen combination as the `combined` protocol's weights")
    r = sub.add_parser("test-read", help="the one read of the test side for the shipped configurations")
    r.add_argument("--test", type=Path, nargs="+", required=True)
    r.add_argument("--report", type=Path, default=ROOT / "runs" / "likelihood" / "test_report.json")
    r.add_argument("--reads", type=Path, default=TEST_READS, help="where the read is recorded")
    r.add_argument("--again", default=None, metavar="REASON", help="read the test side again (recorded)")
    r.add_argument("--seed", type=int, default=0)
    for p in (f, t):
        p.add_argument("--max-chars", type=int, default=1000)
        p.add_argument("--seed", type=int, default=0)
    ns = ap.parse_args()
    if ns.cmd == "test-read":
        from likelihood_test_read import cmd_test_read

        cmd_test_read(ns)
        return
    {"features": cmd_features, "table": cmd_table}[ns.cmd](ns)


if __name__ == "__main__":
    main()
