"""`judgekit eval --list` metadata and the Wilson intervals on per-subset proportions."""

from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.evaluation.benchmarks import benchmark_names, get_benchmark
from judgekit.evaluation.benchmarks.base import ItemResult
from judgekit.evaluation.benchmarks.scoring import binary_counts


def test_every_benchmark_states_source_license_rows_rule_and_data():
    for name in benchmark_names():
        info = get_benchmark(name).info
        assert info.source and info.license and info.rows and info.reproduces and info.obtained, name


def test_eval_list_prints_one_row_per_benchmark():
    res = CliRunner().invoke(app, ["eval", "--list"], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    for name in benchmark_names():
        assert name in res.output
    assert "full data here" in res.output


def test_eval_without_arguments_is_a_usage_error():
    res = CliRunner().invoke(app, ["eval"])
    assert res.exit_code == 2
    assert "--list" in res.output


def test_wilson_only_on_binary_credit():
    results = [ItemResult("a", "s1", 1.0), ItemResult("b", "s1", 0.0), ItemResult("c", "s1", 1.0),
               ItemResult("d", "s2", 0.5), ItemResult("e", "s2", 1.0)]
    counts = binary_counts(results)
    assert counts == {"subset/s1": (2, 3)}  # s2 has a half credit, so overall is not a proportion either
