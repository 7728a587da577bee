"""``judgekit probe`` and ``judgekit augment master-rm`` from the command line (fake backend)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from judgekit.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_probe_master_keys_writes_table_json_png(tmp_path):
    out = tmp_path / "probe"
    result = invoke("probe", str(ROOT / "examples" / "verify.jsonl"), "--backend", "fake", "-o", str(out),
                    "--attack", "master-keys", "--attack", "injection", "--option", "defense=answer-check",
                    "--limit", "4", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "judgekit probe: fake-model" in result.output and "fpr" in result.output
    report = json.loads((out / "probe.json").read_text(encoding="utf-8"))
    assert report["protocol"] == "verify" and report["items"] == 4  # default protocol switched to verify
    assert "arXiv:2507.08794" in report["keys"]["source"]
    assert set(report["attacks"]) == {"master-keys", "injection"}
    assert (out / "probe.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "probe.md").read_text(encoding="utf-8").startswith("| attack |")
    assert (out / "master-keys-raw" / "results.jsonl").exists()
    assert (out / "master-keys-answer-check" / "manifest.json").exists()


def test_probe_user_keys_and_bias_suite(tmp_path, shared_data):
    keys = tmp_path / "keys.txt"
    keys.write_text(":\nOK\n", encoding="utf-8")
    out = tmp_path / "p"
    result = invoke("probe", str(ROOT / "examples" / "verify.jsonl"), "--backend", "fake", "-o", str(out),
                    "-a", "master-keys", "--keys", str(keys), "--limit", "2")
    assert result.exit_code == 0, result.output
    report = json.loads((out / "probe.json").read_text(encoding="utf-8"))
    names = {r["name"] for r in report["attacks"]["master-keys"]["settings"]["raw"]["rates"] if r["group"] == "key"}
    assert names == {":", "OK"}
    result = invoke("probe", "--backend", "fake", "-o", str(tmp_path / "b"), "-a", "bias-suite",
                    "--bias-data", str(shared_data / "evalbiasbench" / "evalbiasbench.jsonl"), "--bias-limit", "12")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "b" / "probe.json").read_text(encoding="utf-8"))
    assert report["attacks"]["bias-suite"]["items"] == 12


def test_probe_errors_are_one_line(tmp_path):
    result = invoke("probe", str(ROOT / "examples" / "verify.jsonl"), "--backend", "fake", "-a", "telepathy",
                    "-o", str(tmp_path))
    assert result.exit_code == 2 and "unknown attack" in result.output
    result = invoke("probe", str(ROOT / "examples" / "pairs.jsonl"), "--backend", "fake", "-a", "master-keys",
                    "-p", "pairwise", "-o", str(tmp_path))
    assert result.exit_code == 2
    result = invoke("probe", str(ROOT / "examples" / "verify.jsonl"), "--backend", "fake", "-a", "master-keys",
                    "--option", "defense=shield", "-o", str(tmp_path))
    assert result.exit_code == 2 and "unknown defense" in result.output


def test_augment_master_rm(tmp_path):
    out = tmp_path / "aug.jsonl"
    result = invoke("augment", "master-rm", str(ROOT / "examples" / "verify.jsonl"), "--ratio", "0.5",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    originals = [json.loads(x) for x in (ROOT / "examples" / "verify.jsonl").read_text(encoding="utf-8").splitlines()]
    adv = [r for r in rows if "master_rm" in r]
    assert len(adv) == round(0.5 * len(originals)) and all(r["label"] is False for r in adv)
    assert [r for r in rows if "master_rm" not in r] == originals
    bad = invoke("augment", "master-rm", str(ROOT / "examples" / "verify.jsonl"), "--ratio", "1",
                 "--out", str(out), "--mode", "nope")
    assert bad.exit_code == 2
