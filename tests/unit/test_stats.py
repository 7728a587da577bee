import math

import numpy as np
import pytest

from judgekit.core import stats


def test_wilson_known_values():
    lo, hi = stats.wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = stats.wilson_interval(0, 20)
    assert lo == 0.0 and 0 < hi < 0.2
    for n in (1, 7, 30, 1000):  # the end points are exact, not an ulp short
        assert stats.wilson_interval(n, n)[1] == 1.0 and stats.wilson_interval(0, n)[0] == 0.0


def test_bootstrap_mean_ci_covers_truth_and_is_seeded():
    rng = np.random.default_rng(1)
    x = (rng.random(400) < 0.7).astype(float)
    m, lo, hi = stats.bootstrap_mean_ci(x, n_boot=2000, seed=3)
    assert m == pytest.approx(x.mean())
    assert lo < 0.7 < hi
    # width close to the normal approximation 2 * 1.96 * sqrt(p(1-p)/n)
    assert hi - lo == pytest.approx(2 * 1.96 * math.sqrt(0.21 / 400), rel=0.15)
    assert stats.bootstrap_mean_ci(x, n_boot=500, seed=3) == stats.bootstrap_mean_ci(x, n_boot=500, seed=3)
    assert stats.bootstrap_mean_ci([1.0, 1.0, 1.0])[1:] == (1.0, 1.0)


def test_accuracy_ci_fields():
    out = stats.accuracy_ci([1, 0, 1, 1], n_boot=200)
    assert out["value"] == 0.75 and out["n"] == 4
    assert out["ci"][0] <= 0.75 <= out["ci"][1]


def test_paired_bootstrap_detects_a_real_difference():
    rng = np.random.default_rng(0)
    b = (rng.random(500) < 0.6).astype(float)
    a = b.copy()
    flip = rng.choice(np.where(b == 0)[0], size=60, replace=False)  # A fixes 60 of B's errors
    a[flip] = 1.0
    r = stats.paired_bootstrap(a, b, n_boot=2000, seed=1)
    assert r.diff == pytest.approx(60 / 500)
    assert r.significant and r.ci[0] > 0 and r.p_value < 0.01


def test_paired_bootstrap_no_difference_is_not_significant():
    rng = np.random.default_rng(5)
    a = (rng.random(300) < 0.5).astype(float)
    b = a.copy()
    idx = rng.choice(300, size=40, replace=False)
    b[idx[:20]] = 1 - b[idx[:20]]  # symmetric noise: 20 flips each way on average zero
    r = stats.paired_bootstrap(a, a.copy(), n_boot=500)
    assert r.diff == 0 and not r.significant
    r2 = stats.paired_bootstrap(a, b, n_boot=2000, seed=2)
    assert r2.ci[0] < r2.diff < r2.ci[1]
    with pytest.raises(ValueError):
        stats.paired_bootstrap([1, 0], [1])


def test_bootstrap_statistic_stratified_keeps_strata_sizes():
    recs = [("x", 1.0)] * 3 + [("y", 0.0)] * 7
    seen = []

    def stat(rs):
        seen.append(sum(1 for r in rs if r[0] == "x"))
        return {"mean": sum(r[1] for r in rs) / len(rs)}

    out = stats.bootstrap_statistic(recs, stat, strata=[r[0] for r in recs], n_boot=50)
    assert set(seen) == {3}  # every resample keeps 3 x-items
    assert out["mean"]["value"] == 0.3 and out["mean"]["ci"] == [0.3, 0.3]


def test_cohen_kappa_known_values():
    # classic 2x2 example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa = 0.4
    r1 = ["y"] * 25 + ["n"] * 25
    r2 = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert stats.cohen_kappa(r1, r2) == pytest.approx(0.4)
    assert stats.cohen_kappa(["a", "b"], ["a", "b"]) == pytest.approx(1.0)
    assert stats.cohen_kappa(["a", "a"], ["a", "a"]) == 1.0
    assert stats.cohen_kappa(["a", "b", "a", "b"], ["b", "a", "b", "a"]) == pytest.approx(-1.0)


def test_classification_report_and_macro_f1():
    truth = ["A", "A", "B", "B", "tie", "tie"]
    pred = ["A", "B", "B", "tie", "tie", "failed"]
    rep = stats.classification_report(truth, pred, ["A", "B", "tie"])
    assert rep["per_class"]["A"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2.0}
    assert rep["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0.5) / 3)
    assert rep["macro_precision"] == pytest.approx(2 / 3)
    assert rep["accuracy"] == 0.5
    assert stats.macro_f1(truth, truth, ["A", "B", "tie"]) == 1.0


def test_calibration_bins_ece_brier():
    conf = [0.55, 0.55, 0.95, 0.95, 0.95, 0.95]
    hit = [1, 0, 1, 1, 1, 0]
    bins = stats.calibration_bins(conf, hit, n_bins=10)
    assert [b.count for b in bins] == [0, 0, 0, 0, 0, 2, 0, 0, 0, 4]
    assert bins[5].accuracy == 0.5 and bins[9].accuracy == 0.75
    assert stats.expected_calibration_error(bins) == pytest.approx((2 * 0.05 + 4 * 0.2) / 6)
    assert stats.brier_score([1.0, 0.0], [1, 1]) == 0.5
    assert stats.calibration_bins([1.0], [1], 10)[9].count == 1


def test_minimum_n_rule_for_significance():
    a, b = [1.0] * 6, [0.0] * 6  # a unanimous difference on six items
    r = stats.paired_bootstrap(a, b, n_boot=300)
    assert r.ci == (1.0, 1.0) and not r.significant and r.underpowered and r.n == 6
    assert stats.paired_bootstrap(a, b, n_boot=300, min_n=5).significant
    r10 = stats.paired_bootstrap([1.0] * 10, [0.0] * 10, n_boot=300)
    assert r10.significant and not r10.underpowered
    # per-key sizes: a subset of 3 items is underpowered even when the whole set is not
    subsets = ["x"] * 3 + ["y"] * 12
    a_recs = [(g, 1.0) for g in subsets]
    b_recs = [(g, 0.0) for g in subsets]

    def stat(rows):  # type: ignore[no-untyped-def]
        out = {"overall": float(np.mean([r[1] for r in rows]))}
        for name in ("x", "y"):
            out[f"subset/{name}"] = float(np.mean([r[1] for r in rows if r[0] == name]))
        return out

    res = stats.paired_bootstrap_statistic(a_recs, b_recs, stat, strata=subsets, n_boot=100,
                                           counts={"subset/x": 3, "subset/y": 12})
    assert res["overall"].n == 15 and res["overall"].significant
    assert res["subset/y"].n == 12 and res["subset/y"].significant
    assert res["subset/x"].n == 3 and not res["subset/x"].significant and res["subset/x"].underpowered
