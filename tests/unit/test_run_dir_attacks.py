"""Issue 29 items 7, 8, 10: torn bytes, the reward run's lock and resume, links planted in a run dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends.fake import FakeBackend
from judgekit.cli.app import app
from judgekit.core.rundir import RunDirError
from judgekit.core.runner import Runner
from judgekit.core.types import Prompt, Sample
from judgekit.judge import run_judge
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.reward.policy import PolicyReward, RewardItem, judge_protocol, run_reward_file
from tests.policy_fakes import fake_verifier

ROOT = Path(__file__).resolve().parents[2]


def pairs(n: int) -> list[Sample]:
    return [Sample(id=f"s{i}", prompt=f"Question {i}? 漢字", responses=(f"good {i} é漢字", f"bad {i}"), label="A")
            for i in range(n)]


def test_resume_skips_a_row_torn_inside_a_utf8_character(tmp_path: Path) -> None:  # item 7
    proto = get_protocol("pairwise")
    fingerprint = run_judge(pairs(3), proto, Runner(FakeBackend()), tmp_path / "full").manifest["fingerprint"]
    full = (tmp_path / "full" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    row1 = full[1].encode("utf-8")
    cut = row1.index("漢".encode()) + 1  # inside the 3-byte character
    part = tmp_path / "r" / "results.partial.jsonl"
    part.parent.mkdir()
    part.write_bytes((json.dumps({"fingerprint": fingerprint}) + "\n" + full[0] + "\n").encode() + row1[:cut])
    with pytest.raises(UnicodeDecodeError):
        row1[:cut].decode("utf-8")
    result = run_judge(pairs(3), proto, Runner(FakeBackend()), tmp_path / "r")
    assert result.resumed == 1  # the complete row; the torn bytes were dropped
    assert (tmp_path / "r" / "results.jsonl").read_text(encoding="utf-8").splitlines() == full


def test_a_complete_line_of_bad_bytes_is_skipped_too(tmp_path: Path) -> None:  # item 7
    proto = get_protocol("pairwise")
    fingerprint = run_judge(pairs(2), proto, Runner(FakeBackend()), tmp_path / "full").manifest["fingerprint"]
    full = (tmp_path / "full" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    part = tmp_path / "r" / "results.partial.jsonl"
    part.parent.mkdir()
    header = (json.dumps({"fingerprint": fingerprint}) + "\n").encode()
    part.write_bytes(header + b"\xe6\xbc\n" + (full[1] + "\n").encode())
    result = run_judge(pairs(2), proto, Runner(FakeBackend()), tmp_path / "r")
    assert result.resumed == 1
    assert (tmp_path / "r" / "results.jsonl").read_text(encoding="utf-8").splitlines() == full


@pytest.mark.parametrize("name", ["results.partial.jsonl", "manifest.json.tmp", "results.jsonl.tmp", ".lock"])
def test_a_planted_link_is_never_followed(tmp_path: Path, name: str) -> None:  # item 10
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / name).symlink_to(victim)
    try:
        run_judge(pairs(2), get_protocol("pairwise"), Runner(FakeBackend()), run_dir)
    except RunDirError as exc:
        assert "symbolic link" in str(exc) and name in str(exc)
    else:  # a link at a file written afresh is replaced by a regular file
        assert (run_dir / "results.jsonl").is_file()
    assert victim.read_text() == "precious\n"


def test_empty_out_is_a_usage_error(tmp_path: Path) -> None:  # item 10
    os.chdir(tmp_path)
    result = CliRunner().invoke(app, ["judge", str(ROOT / "examples" / "pairs.jsonl"), "--backend", "fake",
                                      "-o", ""])
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def reward(backend: FakeBackend | None = None) -> PolicyReward:
    # the model decides every item (in the default hybrid mode the rules would, without a model call)
    protocol = judge_protocol("verify", JudgeConfig(method="logit", options=(("verify_mode", "model"),)))
    return PolicyReward(protocol, Runner(backend=backend or fake_verifier()))


ITEMS = [RewardItem(f"i{i}", f"What is {i}+1?", f"It is {i + 1}.", str(i + 1)) for i in range(6)]


def test_reward_run_holds_the_run_dir_lock(tmp_path: Path) -> None:  # item 8
    errors: list[str] = []
    inner = fake_verifier()

    def intruder(prompt: Prompt, choices: object) -> object:
        if not errors:
            with pytest.raises(RunDirError, match="another judgekit run") as err:
                run_reward_file(ITEMS[:1], reward(), tmp_path)
            errors.append(str(err.value))
        return inner.choice_responder(prompt, choices)  # type: ignore[misc, arg-type]

    summary = run_reward_file(ITEMS, reward(FakeBackend(choice_responder=intruder)), tmp_path)
    assert errors and summary["items"] == 6
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    rows = [json.loads(line) for line in (tmp_path / "rewards.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [it.id for it in ITEMS] and manifest["judgekit_reward_run"] == 1


def test_reward_run_resumes_instead_of_truncating(tmp_path: Path) -> None:  # item 8
    calls: list[int] = []
    inner = fake_verifier()

    def dies_after_two_chunks(prompt: Prompt, choices: object) -> object:
        calls.append(1)
        if len(calls) > 4:
            raise RuntimeError("killed")
        return inner.choice_responder(prompt, choices)  # type: ignore[misc, arg-type]

    with pytest.raises(RuntimeError, match="killed"):
        run_reward_file(ITEMS, reward(FakeBackend(choice_responder=dies_after_two_chunks)), tmp_path, chunk_size=2)
    kept = (tmp_path / "rewards.partial.jsonl").read_text().splitlines()
    assert len(kept) == 1 + 4  # header + the two finished chunks survive the crash
    complete = run_reward_file(ITEMS, reward(), tmp_path / "reference")
    summary = run_reward_file(ITEMS, reward(), tmp_path, chunk_size=2)
    assert summary["resumed_items"] == 4
    assert (tmp_path / "rewards.jsonl").read_text() == (tmp_path / "reference" / "rewards.jsonl").read_text()
    assert complete["mean_reward"] == summary["mean_reward"]
