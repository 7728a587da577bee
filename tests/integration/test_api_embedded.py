"""The Python API on the real shipped judge: a pair and a verification from one model load."""

from __future__ import annotations

import re
from typing import Any

import pytest

import judgekit
from judgekit.core import backend as core_backend
from judgekit.core.formats import PAIRWISE, VERIFY


def test_compare_and_verify_share_one_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[dict[str, Any]] = []
    real = core_backend.get_backend  # what the lazy backend calls when a call first misses the cache

    def counted(name: str, **kwargs: Any) -> Any:
        loads.append({"name": name, **kwargs})
        return real(name, **kwargs)

    monkeypatch.setattr(core_backend, "get_backend", counted)
    judge = judgekit.Judge(protocol="pairwise", max_new_tokens=64)  # judgekit-135m's own verdict, constrained
    pair = judge.compare("What is 17 * 3?", "17 * 3 = 51.", "17 * 3 = 41.")
    check = judge.verify("What is 17 * 3?", "17 * 3 = 51.", reference="51")
    assert [(b["name"], b["model"]) for b in loads] == [("transformers", "judgekit-135m")]
    assert judge.runner.backend.model_id.startswith("judgekit-135m-")
    assert pair.verdict in ("A", "B", "tie") and not pair.parse_failure and pair.consistent is not None
    assert [t.name for t in pair.trace] and all(re.fullmatch(PAIRWISE.regex, raw)
                                                for t in pair.trace for raw in t.parsed["raw"])
    # the default verifier is the hybrid: "51" against the reference 51 is decided by the rules, no model call
    assert check.verdict == "correct" and not check.parse_failure and check.extra["decided_by"] == "rule"
    unreadable = judge.verify("What is 17 * 3?", "It is the product of the two, as computed.", reference="51")
    assert unreadable.extra["decided_by"] == "model"  # no number for the rules to read: the same loaded model judges
    assert unreadable.verdict in ("correct", "incorrect") and not unreadable.parse_failure
    assert all(re.fullmatch(VERIFY.regex, raw) for t in unreadable.trace for raw in t.parsed["raw"])


def test_the_default_judge_compares_with_pmi_on_the_base_and_verifies_by_rules_without_a_load(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real = core_backend.get_backend

    def counted(name: str, **kwargs: Any) -> Any:
        loads.append(str(kwargs.get("model")))
        return real(name, **kwargs)

    monkeypatch.setattr(core_backend, "get_backend", counted)
    judge = judgekit.Judge()
    pair = judge.compare("What is 17 * 3?", "17 * 3 = 51.", "17 * 3 = 41.")
    assert pair.verdict in ("A", "B") and pair.extra["signal"] == "pmi" and pair.extra["norm"] == "none"
    assert judge.runner.backend.model_id.startswith("SmolLM2-135M-Instruct")
    check = judge.verify("What is 17 * 3?", "17 * 3 = 51.", reference="51")
    assert check.verdict == "correct" and check.extra["decided_by"] == "rule"
    assert loads == ["smollm2"]  # the verifier's model (judgekit-135m) was not needed, so never loaded
