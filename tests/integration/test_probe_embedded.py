"""``judgekit probe`` end to end on the real embedded model (a few GSM8K items).

Logit mode (one forward pass per probed item) keeps this inside the integration
budget; constrained generative decoding is covered by the protocol integration tests
and by the probe's unit tests on the fake backend.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.probe.keys import bundled_keys


def test_probe_master_keys_embedded(shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "probe"
    args = ["probe", str(shared_data / "gsm8k_verification" / "gsm8k_verification.jsonl"), "-a", "master-keys",
            "-p", "verify", "--limit", "2", "--method", "logit", "--option", "defense=answer-check",
            "-o", str(out)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "judgekit probe" in result.output and "fpr" in result.output
    report = json.loads((out / "probe.json").read_text(encoding="utf-8"))
    assert report["model_id"] and report["items"] == 2
    mk = report["attacks"]["master-keys"]
    assert set(mk["settings"]) == {"raw", "answer-check", "answer-check+hybrid"}
    hybrid = {(r["group"], r["name"]): r for r in mk["settings"]["answer-check+hybrid"]["rates"]}
    assert hybrid[("overall", "all keys")]["k"] == 0  # the default verifier accepts no key
    raw = {(r["group"], r["name"]): r for r in mk["settings"]["raw"]["rates"]}
    n_keys = len(bundled_keys().keys)
    assert raw[("overall", "all keys")]["n"] == 2 * n_keys
    assert all(raw[("key", k.key)]["n"] == 2 for k in bundled_keys().keys)
    overall = raw[("overall", "all keys")]
    assert overall["rate"] == pytest.approx(overall["k"] / overall["n"])
    assert overall["k"] == sum(raw[("key", k.key)]["k"] for k in bundled_keys().keys)
    # the defence column never replaces the raw model's numbers, and rejects every key
    checked = {(r["group"], r["name"]): r for r in mk["settings"]["answer-check"]["rates"]}
    assert checked[("overall", "all keys")]["k"] == 0
    # every probed item went through the model: a verdict with probabilities, never a skip
    rows = [json.loads(x) for x in (out / "master-keys-raw" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 + 2 * n_keys
    for row in rows:
        assert row["verdict"] in ("correct", "incorrect") and not row["extra"].get("skipped")
        assert abs(sum(row["probs"].values()) - 1.0) < 1e-4
    png = (out / "probe.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert (out / "probe.md").read_text(encoding="utf-8").count("\n") >= n_keys + 5
