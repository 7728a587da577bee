"""``judgekit probe`` end to end on the real embedded model (a few GSM8K items)."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.formats import VERIFY
from judgekit.probe.keys import bundled_keys


def test_probe_master_keys_embedded(shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "probe"
    args = ["probe", str(shared_data / "gsm8k_verification" / "gsm8k_verification.jsonl"), "-a", "master-keys",
            "-p", "verify", "--limit", "2", "--max-new-tokens", "48", "--option", "defense=answer-check",
            "-o", str(out)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "judgekit probe" in result.output and "fpr" in result.output
    report = json.loads((out / "probe.json").read_text(encoding="utf-8"))
    assert report["model_id"] and report["items"] == 2
    mk = report["attacks"]["master-keys"]
    assert set(mk["settings"]) == {"raw", "answer-check"}
    raw = {(r["group"], r["name"]): r for r in mk["settings"]["raw"]["rates"]}
    n_keys = len(bundled_keys().keys)
    assert raw[("overall", "all keys")]["n"] == 2 * n_keys
    assert all(raw[("key", k.key)]["n"] == 2 for k in bundled_keys().keys)
    assert 0.0 <= raw[("overall", "all keys")]["rate"] <= 1.0
    # the defence column never replaces the raw model's numbers, and rejects every key
    checked = {(r["group"], r["name"]): r for r in mk["settings"]["answer-check"]["rates"]}
    assert checked[("overall", "all keys")]["k"] == 0
    # constrained decoding: every raw output is a well-formed verdict
    rows = [json.loads(x) for x in (out / "master-keys-raw" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 + 2 * n_keys
    for row in rows:
        for turn in row["trace"]:
            for text in turn["parsed"]["raw"]:
                assert re.fullmatch(VERIFY.regex, text), text
    png = (out / "probe.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert (out / "probe.md").read_text(encoding="utf-8").count("\n") >= n_keys + 5
