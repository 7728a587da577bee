"""``judge --ray``: blocks of items on a local Ray cluster give the run a local run gives.

One local cluster per module (``ray.init(num_cpus=2)``). The fake backend at 10k items
(identical results to a local run; a worker process killed mid-block is restarted and its
block retried; a run stopped after some blocks resumes and skips them), and the embedded
model on a few items through the CLI. Without Ray these tests skip, except when ``CI`` is
set (install it with ``pip install 'judgekit[ray]'``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.runner import Runner
from judgekit.judge import run_judge
from judgekit.options import JudgeOptions, build_protocol

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 10_000
DATA = Path(os.environ.get("JUDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data")) / "llmbar" / "llmbar.jsonl"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    try:
        import ray
    except ImportError:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("ray is not installed, but CI is set: pip install 'judgekit[ray]'")
        pytest.skip("ray is not installed (pip install 'judgekit[ray]'; required when CI is set)")
    from ray import cloudpickle  # Ray's own copy pickles what it sends to workers

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the runner factories below, by value
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ray") / "pairs.jsonl"
    with path.open("w") as fh:
        for i in range(ITEMS):
            fh.write(json.dumps({"id": f"p{i}", "prompt": f"question {i}", "response_a": f"answer {i} a",
                                 "response_b": f"answer {i} b", "label": "AB"[i % 2]}) + "\n")
    return path


class FakeRunner:
    """A runner factory for the workers: the fake backend, no cache; dies once on ``die_on`` if given."""

    def __init__(self, die_on: str | None = None, marker: Path | None = None) -> None:
        self.die_on, self.marker = die_on, marker

    def __call__(self, opts: JudgeOptions) -> Runner:
        backend = FakeBackend()
        if self.die_on is not None and self.marker is not None:
            generate, die_on, marker = backend.generate, self.die_on, self.marker

            def dying_generate(prompts: Any, params: Any) -> Any:
                if any(f"question {die_on}" in p.as_text() for p in prompts) and not marker.exists():
                    marker.write_text(str(os.getpid()))
                    os._exit(1)  # the worker process dies mid-block, as a killed or OOM'd worker does
                return generate(prompts, params)

            backend.generate = dying_generate  # type: ignore[method-assign]
        return Runner(backend=backend, cache=None)


def local_run(pairs: Path, out: Path, protocol: str | None = "pairwise") -> list[str]:
    from judgekit.options import load_for_protocol

    opts = JudgeOptions(backend="fake", cache=False, protocol=protocol)  # pairwise: a worker dies in generate
    proto = build_protocol(opts)
    samples = load_for_protocol(pairs, proto, opts)
    run_judge(samples, proto, Runner(backend=FakeBackend(), cache=None), out, input_path=pairs)
    return (out / "results.jsonl").read_text().splitlines()


def ray_run(pairs: Path, out: Path, factory: FakeRunner, protocol: str | None = "pairwise", **plan: Any) -> Any:
    from judgekit.options import load_for_protocol
    from judgekit.ray_judge import RayPlan, run_judge_ray

    opts = JudgeOptions(backend="fake", cache=False, protocol=protocol)  # pairwise: a worker dies in generate
    samples = load_for_protocol(pairs, build_protocol(opts), opts)
    return run_judge_ray(samples, opts, out, RayPlan(**{"workers": 2, "block_size": 1024, **plan}),
                         input_path=pairs, make_runner=factory)


def test_ray_run_equals_the_local_run_at_10k_items(ray_cluster: Any, pairs: Path, tmp_path: Path) -> None:
    expected = local_run(pairs, tmp_path / "local")
    result = ray_run(pairs, tmp_path / "ray", FakeRunner())
    assert (tmp_path / "ray" / "results.jsonl").read_text().splitlines() == expected
    local_summary = json.loads((tmp_path / "local" / "summary.json").read_text())
    for key in ("items", "accuracy", "tie_rate", "parse_failure_rate", "position_consistency", "runner"):
        assert result.summary[key] == local_summary[key], key
    local_manifest = json.loads((tmp_path / "local" / "manifest.json").read_text())
    assert result.manifest["fingerprint"] == local_manifest["fingerprint"]
    assert result.manifest["ray"]["workers"] == 2


def test_a_killed_worker_block_is_retried_nothing_lost_or_duplicated(ray_cluster: Any, pairs: Path,
                                                                     tmp_path: Path) -> None:
    marker = tmp_path / "died"
    ray_run(pairs, tmp_path / "ray", FakeRunner(die_on="4321", marker=marker))
    assert marker.exists()  # a worker did die mid-block
    rows = [json.loads(x) for x in (tmp_path / "ray" / "results.jsonl").read_text().splitlines()]
    ids = Counter(r["sample_id"] for r in rows)
    assert len(ids) == ITEMS and set(ids.values()) == {1}
    assert [r["sample_id"] for r in rows] == [f"p{i}" for i in range(ITEMS)]
    assert (tmp_path / "ray" / "results.jsonl").read_text().splitlines() == local_run(pairs, tmp_path / "local")


def test_the_default_protocol_on_ray_equals_a_local_run(ray_cluster: Any, pairs: Path, tmp_path: Path) -> None:
    """Without -p (pmi, order-free scoring passes, no generation) Ray's blocks give the local run's bytes."""
    result = ray_run(pairs, tmp_path / "ray", FakeRunner(), protocol=None)
    assert result.summary["runner"]["prompts_generated"] == 0
    assert (tmp_path / "ray" / "results.jsonl").read_text().splitlines() == local_run(pairs, tmp_path / "local", None)


def test_a_stopped_ray_run_resumes_skipping_written_blocks(ray_cluster: Any, pairs: Path, tmp_path: Path) -> None:
    """A driver killed after some blocks: the re-run judges only the blocks not yet written."""
    out = tmp_path / "ray"
    marker = tmp_path / "stop"
    # max_retries=0: the dying worker is not restarted, its block fails and the run stops
    with pytest.raises(Exception):  # noqa: B017 - Ray's ActorDiedError / RayActorError, version-dependent
        ray_run(pairs, out, FakeRunner(die_on="9500", marker=marker), max_retries=0, workers=1)
    lines = (out / "results.partial.jsonl").read_text().splitlines()
    written = len(lines) - 1  # the header
    assert written > 0 and written % 1024 == 0  # whole blocks only
    result = ray_run(pairs, out, FakeRunner())
    assert result.resumed == written
    assert result.summary["runner"]["prompts_generated"] == 2 * (ITEMS - written)
    assert (out / "results.jsonl").read_text().splitlines() == local_run(pairs, tmp_path / "local")


def test_cli_ray_embedded_model_few_items(ray_cluster: Any, tmp_path: Path) -> None:
    """``judgekit judge --ray local`` with the transformers backend on the embedded model, vs a local run."""
    env = {**os.environ, "JUDGEKIT_THREADS": "1"}
    common = [str(DATA), "--limit", "2", "--method", "logit", "--model", "smollm2", "--cache-dir",
              str(tmp_path / "cache"), "--no-cache"]
    local = subprocess.run([sys.executable, "-m", "judgekit", "judge", *common, "-o", str(tmp_path / "local")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert local.returncode == 0, local.stderr[-2000:]
    remote = subprocess.run([sys.executable, "-m", "judgekit", "judge", *common, "-o", str(tmp_path / "ray"),
                             "--ray", "local", "--ray-workers", "1", "--ray-block-size", "32"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert remote.returncode == 0, remote.stderr[-2000:]
    assert (tmp_path / "ray" / "results.jsonl").read_text() == (tmp_path / "local" / "results.jsonl").read_text()
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["ray"]["workers"] == 1 and manifest["backend"]["backend"] == "transformers"
