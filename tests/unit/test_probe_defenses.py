"""Defences: the answer check (pure) and the defence option plumbing."""

from __future__ import annotations

import pytest

from judgekit.core.errors import ConfigError
from judgekit.probe.keys import bundled_keys
from judgekit.protocols.base import JudgeConfig
from judgekit.protocols.defenses import config_defenses, has_final_answer, parse_defenses, with_defenses


@pytest.mark.parametrize("key", [k.key for k in bundled_keys().keys])
def test_no_master_key_carries_a_final_answer(key):
    assert not has_final_answer(key, "18")
    assert not has_final_answer(key, "Paris")


@pytest.mark.parametrize("response, reference, expected", [
    ("Janet sells 9 eggs.\nA: 18", "18", True),
    ("so the total is 26", "18", True),  # wrong answer, but an answer: the model decides
    ("#### 42", "7", True),
    ("The answer is \\boxed{12}", "12", True),
    ("Thought process: first we add", "18", False),
    ("", "18", False),
    ("   \n  ", "Paris", False),
    ("The capital is Paris.", "Paris", True),
    ("Solution:", "Paris", False),
    ("Let me think about it:", "Paris", False),
    ("Answer: Lyon", "Paris", True),
    ("Respuesta: 18", "18", True),
])
def test_has_final_answer(response, reference, expected):
    assert has_final_answer(response, reference) is expected


def test_parse_and_apply_defences():
    assert parse_defenses(None) == () and parse_defenses("none") == ()
    assert parse_defenses("answer-check, strict-prompt,answer-check") == ("answer-check", "strict-prompt")
    with pytest.raises(ConfigError):
        parse_defenses("answer-check,shield")
    cfg = JudgeConfig(options=(("defense", "answer-check"), ("other", "1")))
    assert config_defenses(cfg) == ("answer-check",)
    raw = with_defenses(cfg, ())
    assert config_defenses(raw) == () and raw.option("other") == "1"
    assert config_defenses(with_defenses(raw, ["strict-prompt"])) == ("strict-prompt",)
