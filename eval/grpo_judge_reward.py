"""GRPO of the embedded model (the *policy*) on GSM8K questions, rewarded by a judgekit verifier.

Run (the README's experiment: one process per judge, side by side):
    PYTHONPATH=. python eval/grpo_judge_reward.py --judges raw --steps 24 --questions 64 --max-completion 48 \
        --learning-rate 5e-5 --out runs/grpo-policy-raw
    PYTHONPATH=. python eval/grpo_judge_reward.py --judges trained --steps 24 --questions 64 --max-completion 48 \
        --learning-rate 5e-5 --out runs/grpo-policy-trained
    PYTHONPATH=. python eval/grpo_judge_reward.py --judges group-listwise --steps 24 --questions 64 \
        --max-completion 48 --learning-rate 5e-5 --out runs/grpo-policy-group       # group rewards (issue 30)
    python eval/grpo_judge_reward.py --report runs/grpo-policy-raw runs/grpo-policy-trained   # its table
    python eval/grpo_judge_reward.py --steps 40 --device cuda --out runs/grpo-judge-gpu     # all judges, on a GPU

Judges (``--judges``): ``raw`` is the embedded SmolLM2-135M verifier in logit mode,
reward = P(correct); ``answer-check`` is the same judge behind the answer-check
defence (a completion without an extractable final answer gets 0 without the model);
``trained`` is judgekit's trained verifier (``--model judgekit-135m``, the adapter in
``judgekit/weights/``) in logit mode, with no defence. Group judges (``group-listwise``:
the raw embedded model, ``group-listwise-trained``: judgekit-135m) rank each prompt's
completions together with ``-p listwise --method logit`` through the TRL adapter's group
path; the reward is the centred reward of the mean rank (no reference answer is shown).
The policy is a second copy of the embedded model, trained with TRL's GRPOTrainer
through :func:`judgekit.reward.policy_adapters.trl_reward`.

Every reward call (one per step) is logged to ``OUT/JUDGE/steps.jsonl``: mean
reward, the share of completions that are content-free (no extractable final
answer, :func:`judgekit.protocols.defenses.has_final_answer`) or key-like (empty, a master key
from ``master_keys.json``, or at most three words without a digit), and the true
accuracy (the completion's last number equals the reference). ``OUT/summary.json``
holds the first and last steps of each run. Each record also says what the rewards
paid for, group by group (:func:`group_record`: flat and tied groups, display-order
agreement, reward of answered / content-free / correct completions, by slot, against
length); ``--report`` prints them as a second table and block means as a third. The questions come from
``gsm8k_verification.jsonl`` (GSM8K *test* questions: the only GSM8K offline copy
here), so "true accuracy" is on the training questions themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))



def shared_data() -> Path:
    """``$JUDGEKIT_SHARED_DATA``, else ``../shared/data`` beside the repository (as training/recipe_data.py)."""
    return Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
INSTRUCTION = "Solve the problem. End your answer with a line '#### N' where N is the final number."


def gsm8k_questions(data: Path, n: int) -> list[dict[str, str]]:
    """The first ``n`` distinct GSM8K questions: ``question``, ``reference``, ``reference_solution``."""
    out: list[dict[str, str]] = []
    seen: set[int] = set()
    with (data / "gsm8k_verification" / "gsm8k_verification.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["question_index"] not in seen and len(out) < n:
                seen.add(row["question_index"])
                out.append({"question": row["question"], "reference": row["reference_answer"],
                            "reference_solution": row["reference_solution"]})
    return out


def policy_rows(data: Path, n: int) -> list[dict[str, Any]]:
    """GRPO rows: a chat prompt asking for ``#### N``, the question and the reference answer."""
    return [{"prompt": [{"role": "user", "content": f"{q['question']}\n\n{INSTRUCTION}"}],
             "question": q["question"], "reference": q["reference"]} for q in gsm8k_questions(data, n)]


def master_keys(data: Path) -> set[str]:
    """The master-key strings, normalised (lower case, stripped)."""
    keys = json.loads((data / "master_keys" / "master_keys.json").read_text(encoding="utf-8"))["keys"]
    return {k["key"].strip().lower() for k in keys}


def is_correct(text: str, reference: str) -> bool:
    """True accuracy: the completion's last number equals the reference answer."""
    found = NUMBER.findall(text)
    return bool(found) and found[-1].replace(",", "").rstrip(".") == reference.replace(",", "")


def is_key_like(text: str, keys: set[str]) -> bool:
    """Empty, a master key, or at most three words without a digit."""
    stripped = text.strip()
    return not stripped or stripped.lower() in keys or (len(stripped.split()) <= 3 and not NUMBER.search(stripped))


def step_record(completions: Sequence[str], references: Sequence[str], rewards: Sequence[float | None],
                keys: set[str]) -> dict[str, Any]:
    """What one GRPO step's completions look like."""
    from judgekit.protocols.defenses import has_final_answer

    n = len(completions)
    scored = [r for r in rewards if r is not None]
    return {
        "completions": n,
        "mean_reward": sum(scored) / len(scored) if scored else None,
        "reward_failures": n - len(scored),
        "content_free": sum(not has_final_answer(c, r) for c, r in zip(completions, references, strict=True)) / n,
        "key_like": sum(is_key_like(c, keys) for c in completions) / n,
        "true_accuracy": sum(is_correct(c, r) for c, r in zip(completions, references, strict=True)) / n,
        "mean_words": sum(len(c.split()) for c in completions) / n,
        "example": completions[0][:160],
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation; None with fewer than 2 points or no spread."""
    if len(xs) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (sxx * syy) ** 0.5


def group_record(completions: Sequence[str], references: Sequence[str], groups: Sequence[str],
                 rewards: Sequence[float | None], consistent: Sequence[bool | None] | None = None) -> dict[str, Any]:
    """What a step's rewards pay for, group by group (the hacking a ranking invites).

    ``groups`` names each completion's GRPO group (its question). A *flat* group gave all
    its scored completions the same reward (GRPO's advantage is then zero: nothing is
    learnt from it); a *tied best* group shares its top reward. ``reward_by_slot`` is the
    mean reward of the i-th completion of each group (the order TRL passes them, which
    is the listwise judge's input order). ``length_corr`` is the Pearson correlation of
    reward and word count over the step. ``consistent``: per completion, whether the
    judge's display orders agreed on the group's best (listwise judges; else None).
    """
    from judgekit.protocols.defenses import has_final_answer

    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    flat = tied = 0
    slots: dict[int, list[float]] = {}
    group_consistent: list[bool] = []
    for idxs in members.values():
        scored = [rewards[i] for i in idxs if rewards[i] is not None]
        flat += len(scored) >= 2 and len(set(scored)) == 1
        tied += len(scored) >= 2 and sum(r == max(scored) for r in scored) > 1  # type: ignore[type-var]
        for slot, i in enumerate(idxs):
            if rewards[i] is not None:
                slots.setdefault(slot, []).append(float(rewards[i]))  # type: ignore[arg-type]
        if consistent is not None and consistent[idxs[0]] is not None:
            group_consistent.append(bool(consistent[idxs[0]]))
    answered = [has_final_answer(c, r) for c, r in zip(completions, references, strict=True)]
    correct = [is_correct(c, r) for c, r in zip(completions, references, strict=True)]
    pairs = [(float(v), len(c.split())) for v, c in zip(rewards, completions, strict=True) if v is not None]
    n = len(members)
    return {
        "groups": n,
        "flat_groups": flat / n if n else None,
        "tied_best_groups": tied / n if n else None,
        "consistent_groups": _mean([float(c) for c in group_consistent]),
        "reward_answered": _mean([float(v) for v, a in zip(rewards, answered, strict=True) if a and v is not None]),
        "reward_content_free": _mean([float(v) for v, a in zip(rewards, answered, strict=True)
                                      if not a and v is not None]),
        "reward_correct": _mean([float(v) for v, ok in zip(rewards, correct, strict=True) if ok and v is not None]),
        "reward_by_slot": [_mean(slots.get(s, [])) for s in range(max((len(m) for m in members.values()),
                                                                        default=0))],
        "length_corr": _pearson([p[0] for p in pairs], [float(p[1]) for p in pairs]),
    }


JUDGES = {"raw": None, "answer-check": None, "trained": "judgekit-135m"}
#: Group judges: the listwise protocol ranks each prompt's completions in one judgment
#: (logit mode, every display order of the Latin square), reward from the mean rank.
#: The raw embedded model is named: ``--model`` left out means the shipped judgekit-135m.
GROUP_JUDGES = {"group-listwise": "smollm2", "group-listwise-trained": "judgekit-135m"}
GROUP_REWARD_MAPPING = "centred"


def group_options(judge: str, device: str = "cpu", backend: str = "transformers") -> Any:
    """The ``judgekit judge`` options of a group judge (``-p listwise --method logit --option reward=...``)."""
    from judgekit.options import JudgeOptions

    model = GROUP_JUDGES[judge] if backend == "transformers" else None
    return JudgeOptions(protocol="listwise", method="logit", backend=backend, model=model, batch_size=16,
                        device=device, option=(f"reward={GROUP_REWARD_MAPPING}",))


def make_reward(judge: str, device: str = "cpu", backend: str = "transformers") -> Any:
    """The judge as a :class:`RecordingReward` (a PolicyReward that keeps its last results)."""
    from judgekit.backends import get_backend
    from judgekit.core.runner import Runner
    from judgekit.protocols.base import JudgeConfig
    from judgekit.reward.policy import PolicyReward, judge_protocol
    from judgekit.reward.policy_adapters import policy_reward_from_options

    class RecordingReward(PolicyReward):
        """Scores as PolicyReward does and keeps the last step's results (mean ranks, consistency)."""

        last: list[Any] = []

        def score(self, items: Sequence[Any]) -> list[Any]:
            self.last = super().score(items)
            return self.last

    if judge in GROUP_JUDGES:
        base = policy_reward_from_options(group_options(judge, device, backend))
        return RecordingReward(base.protocol, base.runner)
    if judge not in JUDGES:
        raise SystemExit(f"--judges: unknown judge {judge!r}; choose from {', '.join([*JUDGES, *GROUP_JUDGES])}")
    options = (("defense", "answer-check"),) if judge == "answer-check" else ()
    model = JUDGES[judge] if backend == "transformers" else None
    kwargs: dict[str, Any] = {"model": model, "batch_size": 16, "device": device} if backend == "transformers" else {}
    return RecordingReward(judge_protocol("verify", JudgeConfig(method="logit", options=options)),
                           Runner(backend=get_backend(backend, **kwargs), chunk_size=1024))


def logged_reward(reward_fn: Callable[..., list[float | None]], log: Path, keys: set[str],
                  results: Callable[[], Sequence[Any]] | None = None) -> Callable[..., Any]:
    """Wrap a TRL reward function: score, then append the step's record to ``log``.

    ``results`` (optional) returns the judge's last :class:`RewardResult` list, for the
    group columns (display-order consistency).
    """
    from judgekit.train.rewards import completion_text

    def judge(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        started = time.perf_counter()
        values = reward_fn(prompts, completions, **kwargs)
        texts = [completion_text(c) for c in completions]
        record = step_record(texts, kwargs["reference"], values, keys)
        last = list(results()) if results is not None else []
        consistent = [r.extra.get("consistent") for r in last] if len(last) == len(values) else None
        record.update(group_record(texts, kwargs["reference"], kwargs["question"], values, consistent))
        record["rewards"] = values
        record["judge_s"] = round(time.perf_counter() - started, 2)
        with log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return values

    judge.__name__ = "judge"
    return judge


def build_trainer(judge: str, out: Path, steps: int, questions: int, generations: int, prompts_per_step: int,
                  max_completion: int, learning_rate: float, data: Path | None = None, seed: int = 0,
                  device: str = "cpu") -> Any:
    """A GRPOTrainer for the embedded policy with the named judge as its only reward (data: :func:`shared_data`)."""
    data = shared_data() if data is None else data
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from judgekit.core.models import resolve_model
    from judgekit.reward.policy_adapters import trl_reward

    reward = make_reward(judge, device)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "steps.jsonl"
    log.unlink(missing_ok=True)
    args = GRPOConfig(
        output_dir=str(out / "trainer"), use_cpu=device == "cpu", bf16=False, gradient_checkpointing=False,
        max_steps=steps,
        per_device_train_batch_size=prompts_per_step * generations, num_generations=generations,
        max_completion_length=max_completion, temperature=1.0, learning_rate=learning_rate, beta=0.0,
        logging_steps=1, save_strategy="no", report_to="none", seed=seed, dataloader_num_workers=0,
    )
    reward_fn = logged_reward(trl_reward(reward), log, master_keys(data), lambda: reward.last)
    return GRPOTrainer(
        model=str(resolve_model(None).path), reward_funcs=[reward_fn],
        args=args, train_dataset=Dataset.from_list(policy_rows(data, questions)),
    )


GROUP_HEADER = ("| run | step | flat groups | tied best | orders agree | reward: answered | content-free | correct "
                "| reward by slot | reward~words |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")


def _cell(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{round(value, digits) + 0.0:.{digits}f}"  # + 0.0: no "-0.000"


BLOCKS = ((1, 4), (5, 12), (13, 24))
BLOCK_HEADER = ("| run | steps | content-free | true accuracy | mean words | flat groups | reward: answered "
                "| content-free | reward~words |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|")


def block_means(records: Sequence[Mapping[str, Any]], first: int, last: int) -> dict[str, float | None]:
    """Means of the per-step columns over steps ``first..last`` (1-based; steps not logged are left out)."""
    chosen = records[first - 1 : last]
    return {key: _mean([float(r[key]) for r in chosen if r.get(key) is not None])
            for key in ("content_free", "true_accuracy", "mean_words", "flat_groups", "reward_answered",
                        "reward_content_free", "length_corr")}


def report(dirs: Sequence[Path]) -> str:
    """Markdown tables of the per-step records under each run directory (``*/steps.jsonl``).

    The first table has the columns every run logs; the second, the group columns
    (:func:`group_record`) of the runs that logged them; the third, their means over
    the step blocks :data:`BLOCKS` and over all steps.
    """
    lines = ["| judge | step | mean reward | content-free | key-like | true accuracy | mean words |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    group_lines = list(GROUP_HEADER)
    block_lines = list(BLOCK_HEADER)
    for run in dirs:
        for log in sorted(run.glob("*/steps.jsonl")):
            records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
            for step, r in enumerate(records, start=1):
                lines.append(f"| {log.parent.name} | {step} | {_cell(r['mean_reward'])} | {r['content_free']:.3f} | "
                             f"{r['key_like']:.3f} | {r['true_accuracy']:.3f} | {r['mean_words']:.1f} |")
                if "flat_groups" in r:
                    slots = " / ".join(_cell(v, 2) for v in r["reward_by_slot"])
                    group_lines.append(
                        f"| {log.parent.name} | {step} | {_cell(r['flat_groups'], 2)} | "
                        f"{_cell(r['tied_best_groups'], 2)} | {_cell(r['consistent_groups'], 2)} | "
                        f"{_cell(r['reward_answered'])} | {_cell(r['reward_content_free'])} | "
                        f"{_cell(r['reward_correct'])} | {slots} | {_cell(r['length_corr'], 2)} |")
            spans = [(a, min(b, len(records))) for a, b in BLOCKS if a <= len(records)]
            for first, last in spans + ([(1, len(records))] if len(spans) > 1 else []):  # then all steps
                m = block_means(records, first, last)
                block_lines.append(
                    f"| {log.parent.name} | {first}-{last} | {_cell(m['content_free'])} | "
                    f"{_cell(m['true_accuracy'])} | {_cell(m['mean_words'], 1)} | {_cell(m['flat_groups'], 2)} | "
                    f"{_cell(m['reward_answered'])} | {_cell(m['reward_content_free'])} | "
                    f"{_cell(m['length_corr'], 2)} |")
    tables = [lines] + ([group_lines] if len(group_lines) > 2 else []) + [block_lines]
    return "\n\n".join("\n".join(t) for t in tables)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train one policy per judge and summarise the first and last steps."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judges", default="raw,answer-check")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--prompts-per-step", type=int, default=2)
    parser.add_argument("--max-completion", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--out", type=Path, default=Path("runs/grpo-judge"))
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for the policy and the judge")
    parser.add_argument("--report", type=Path, nargs="+", default=None,
                        help="Print the per-step table of runs (their --out dirs); no training.")
    ns = parser.parse_args(argv)
    if ns.report:
        print(report(ns.report))
        return {}
    unknown = [j for j in ns.judges.split(",") if j not in JUDGES and j not in GROUP_JUDGES]
    if unknown:
        parser.error(f"--judges: unknown {', '.join(unknown)}; choose from {', '.join([*JUDGES, *GROUP_JUDGES])}")
    summary: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(ns).items()}, "runs": {}}
    for judge in ns.judges.split(","):
        started = time.perf_counter()
        trainer = build_trainer(judge, ns.out / judge, ns.steps, ns.questions, ns.generations, ns.prompts_per_step,
                                ns.max_completion, ns.learning_rate, device=ns.device)
        trainer.train()
        steps = [json.loads(line) for line in (ns.out / judge / "steps.jsonl").read_text().splitlines()]
        summary["runs"][judge] = {"steps": len(steps), "first": steps[:3], "last": steps[-3:],
                                  "wall_s": round(time.perf_counter() - started, 1)}
        print(json.dumps({judge: summary["runs"][judge]}, indent=1))
    (ns.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


if __name__ == "__main__":
    main()
