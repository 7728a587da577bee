"""Jury voting tables (abstentions, splits, order invariance), jury statistics, panel specs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from judgekit.arena.jury import Vote, combine_votes, jury_report


def votes(*labels: str | None) -> list[Vote]:
    return [Vote(f"j{k}", lab, reason=None if lab else "parse failure") for k, lab in enumerate(labels)]


@pytest.mark.parametrize(("labels", "expected", "abstained"), [
    (("A", "A", "B"), "A", ()),
    (("A", None, "A"), "A", ("j1",)),
    (("A", None, None), "A", ("j1", "j2")),
    (("B", "tie", "tie"), "tie", ()),
    (("A", "B", None), None, ("j2",)),  # split: not broken by list order
    (("A", "B", "tie"), None, ()),
    ((None, None, None), None, ("j0", "j1", "j2")),
])
def test_majority_table(labels, expected, abstained) -> None:  # type: ignore[no-untyped-def]
    v = combine_votes(votes(*labels))
    assert v.label == expected and v.abstained == abstained
    if expected is None:
        assert v.reason and ("split" in v.reason or "abstained" in v.reason)


def test_result_does_not_depend_on_judge_order() -> None:
    for labels in [("A", "B", None), ("A", "A", "B", "B"), ("A", "tie", "B"), ("B", None, "B", "A")]:
        results = {combine_votes(list(p)).label for p in itertools.permutations(votes(*labels))}
        assert len(results) == 1


def test_split_policy_tie() -> None:
    v = combine_votes(votes("A", "B"), split="tie")
    assert v.label == "tie" and "recorded as tie" in (v.reason or "")


def test_weighted_votes() -> None:
    w = {"j0": 2.0, "j1": 1.0, "j2": 1.0}
    assert combine_votes(votes("A", "B", "B"), "weighted", w).label is None  # 2 vs 2: split
    assert combine_votes(votes("A", "B", "B"), "weighted", {**w, "j0": 3.0}).label == "A"
    assert combine_votes(votes("A", "B", "B"), "majority", {**w, "j0": 3.0}).label == "B"  # majority ignores weights


def test_mean_probability() -> None:
    vs = [Vote("x", "A", {"A": 0.6, "B": 0.3, "tie": 0.1}), Vote("y", "B", {"A": 0.1, "B": 0.5, "tie": 0.4}),
          Vote("z", None, None, "missing logprob")]
    v = combine_votes(vs, "mean-prob")
    assert v.label == "B" and v.tally["B"] == pytest.approx(0.4) and v.abstained == ("z",)
    # a judge without probabilities counts as a one-hot on its label
    v = combine_votes([Vote("x", "A", {"A": 0.6, "B": 0.4}), Vote("y", "B")], "mean-prob")
    assert v.label == "B" and v.tally["B"] == pytest.approx(0.7)


def test_unknown_method_or_split() -> None:
    with pytest.raises(ValueError, match="jury method"):
        combine_votes(votes("A"), "best")
    with pytest.raises(ValueError, match="split"):
        combine_votes(votes("A"), split="first")


def test_jury_report_accuracy_kappa_and_humans() -> None:
    labels = ["A", "B", "A", "tie"]
    judges = {"x": ["A", "B", None, "A"], "y": ["A", "A", "A", "tie"]}
    panel = ["A", None, "A", None]
    humans = [["A", "A", "A"], ["B", "B", "A"], ["A", "A", "A"], ["tie", "tie", "B"]]
    r = jury_report(judges, panel, labels, humans)
    assert r["judges"]["x"]["accuracy"] == pytest.approx(2 / 3) and r["judges"]["x"]["coverage"] == 0.75
    assert r["judges"]["x"]["accuracy_counting_abstain_wrong"] == pytest.approx(0.5)
    assert r["judges"]["y"]["accuracy"] == pytest.approx(0.75)
    assert r["panel"]["accuracy"] == 1.0 and r["panel"]["n"] == 2
    # x vs y on the 3 items both decided: (A,A) (B,A) (A,tie) -> p_o=1/3, p_e=(2/3*1/3)+(1/3*1/3)*0... hand value:
    # x: A,B,A ; y: A,A,tie -> p_e = P(A)x*P(A)y + P(B)x*P(B)y + P(tie)x*P(tie)y = 2/3*2/3 + 0 + 0 = 4/9
    assert r["cohen_kappa_between_judges"]["x vs y"]["kappa"] == pytest.approx((1 / 3 - 4 / 9) / (1 - 4 / 9))
    h = r["human_agreement"]
    assert h["n"] == 4 and h["x"]["n"] == 3 and h["panel"]["n"] == 2
    assert h["panel"]["fleiss_kappa_with_humans"] == pytest.approx(1.0)


def test_panel_specs_from_flags_and_yaml(tmp_path: Path) -> None:
    from judgekit.arena.panel import panel_specs
    from judgekit.core.errors import ConfigError
    from judgekit.options import JudgeOptions

    base = JudgeOptions(backend="fake")
    specs, _ = panel_specs(["name=l,method=logit,weight=2", "max_new_tokens=32,both_orders=false"], None, base)
    assert [s.name for s in specs] == ["l", "judge2"] and specs[0].weight == 2.0
    assert specs[0].opts.method == "logit" and specs[0].opts.backend == "fake"
    assert specs[1].opts.max_new_tokens == 32 and specs[1].opts.both_orders is False
    with pytest.raises(ConfigError, match="unknown judge key"):
        panel_specs(["modle=x"], None, base)
    with pytest.raises(ConfigError, match="unique"):
        panel_specs(["name=a", "name=a"], None, base)
    with pytest.raises(ConfigError, match="not a valid int"):
        panel_specs(["max_new_tokens=many"], None, base)
    panel = tmp_path / "panel.yaml"
    panel.write_text("method: weighted\njudges:\n  - {name: g, weight: 3}\n  - {name: l, method: logit, "
                     "option: [a=b]}\n")
    specs, settings = panel_specs([], panel, base)
    assert settings == {"method": "weighted"} and specs[1].opts.option == ("a=b",) and specs[0].weight == 3.0
    panel.write_text("judges:\n  - {name: g}\nvoting: majority\n")
    with pytest.raises(ConfigError, match="unknown panel key"):
        panel_specs([], panel, base)
