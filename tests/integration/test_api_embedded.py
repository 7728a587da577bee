"""The Python API on the real shipped judge: a pair and a verification from one model load."""

from __future__ import annotations

import re
from typing import Any

import pytest

import judgekit
from judgekit import options
from judgekit.core.formats import PAIRWISE, VERIFY


def test_compare_and_verify_share_one_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[dict[str, Any]] = []
    real = options.get_backend

    def counted(name: str, **kwargs: Any) -> Any:
        loads.append({"name": name, **kwargs})
        return real(name, **kwargs)

    monkeypatch.setattr(options, "get_backend", counted)
    judge = judgekit.Judge(max_new_tokens=64)  # the README's defaults: judgekit-135m, pairwise, constrained
    pair = judge.compare("What is 17 * 3?", "17 * 3 = 51.", "17 * 3 = 41.")
    check = judge.verify("What is 17 * 3?", "17 * 3 = 51.", reference="51")
    assert [(b["name"], b["model"]) for b in loads] == [("transformers", "judgekit-135m")]
    assert judge.runner.backend.model_id.startswith("judgekit-135m-")
    assert pair.verdict in ("A", "B", "tie") and not pair.parse_failure and pair.consistent is not None
    assert [t.name for t in pair.trace] and all(re.fullmatch(PAIRWISE.regex, raw)
                                                for t in pair.trace for raw in t.parsed["raw"])
    assert check.verdict in ("correct", "incorrect") and not check.parse_failure
    assert all(re.fullmatch(VERIFY.regex, raw) for t in check.trace for raw in t.parsed["raw"])
