"""Arena input layouts, scheduling, and the PandaLM human arena reproduced from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from judgekit.arena.agreement import fleiss_kappa
from judgekit.arena.data import ArenaColumns, load_arena, schedule
from judgekit.arena.leaderboard import leaderboard
from judgekit.arena.run import outcomes_from
from judgekit.core.data import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_long_layout_all_pairs_and_budget(tmp_path: Path) -> None:
    rows = [f'{{"prompt_id": "q{q}", "prompt": "Q{q}", "system": "s{s}", "response": "r{q}{s}"}}'
            for q in range(3) for s in range(4)]
    data = load_arena(write(tmp_path / "long.jsonl", "\n".join(rows)))
    assert data.layout == "long" and data.systems == ["s0", "s1", "s2", "s3"]
    pairs = schedule(data)
    assert len(pairs) == 3 * 6 and len({p.id for p in pairs}) == 18
    p = pairs[0]
    assert p.response_a == f"r0{p.system_a[1]}" and p.to_sample().responses == (p.response_a, p.response_b)
    sampled = schedule(data, budget=2, seed=7)
    assert len(sampled) == 6 and sampled == schedule(data, budget=2, seed=7)
    assert all(len({p.system_a, p.system_b}) == 2 for p in sampled)
    # a budget at or above the number of pairs schedules every pair
    every = {p.id for p in pairs}
    assert {p.id for p in schedule(data, budget=6)} == {p.id for p in schedule(data, budget=99)} == every
    with pytest.raises(ValueError, match="budget"):
        schedule(data, budget=0)


def test_wide_layout_and_column_flags(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.csv", "id,question,gpt,llama,notes\n1,What?,a1,b1,x\n2,Why?,a2,b2,y\n")
    data = load_arena(path, ArenaColumns(prompt="question", systems=("gpt", "llama")))
    assert data.layout == "wide" and data.systems == ["gpt", "llama"]
    assert [p.prompt for p in schedule(data)] == ["What?", "Why?"]
    # without --response-cols every other text column is a system
    assert load_arena(path, ArenaColumns(prompt="question")).systems == ["gpt", "llama", "notes"]


def test_bad_input_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", '{"prompt": "Q", "system": "a", "response": "x"}\n'
                                         '{"prompt": "Q", "system": "a", "response": "y"}\n')
    with pytest.raises(DataError, match=r"line 2, field 'system'.*twice"):
        load_arena(path)
    path = write(tmp_path / "one.jsonl", '{"prompt": "Q", "system": "a", "response": "x"}\n')
    with pytest.raises(DataError, match="two or more systems"):
        load_arena(path)
    path = write(tmp_path / "pairs.jsonl", '{"cmp_key": "a_b_c", "instruction": "I", "response1": "x", '
                                           '"response2": "y", "majority_label": 1}\n')
    with pytest.raises(DataError, match=r"line 1, field 'cmp_key'"):
        load_arena(path)


def test_pairs_layout_model_a_b(tmp_path: Path) -> None:
    path = write(tmp_path / "p.jsonl", '{"id": "1", "prompt": "Q", "model_a": "x", "model_b": "y", '
                                       '"response_a": "ra", "response_b": "rb", "winner": "model_b"}\n')
    (pair,) = schedule(load_arena(path))
    assert (pair.system_a, pair.system_b, pair.label) == ("x", "y", "B")


def test_pandalm_systems_from_cmp_key(shared_data: Path) -> None:
    data = load_arena(shared_data / "pandalm" / "pandalm_testset_v1.jsonl")
    assert data.layout == "pairs" and len(data.pairs) == 999
    assert data.systems == ["bloom-7b", "cerebras-gpt-6.7B", "llama-7b", "opt-7b", "pythia-6.9b"]
    first = data.pairs[0]
    assert (first.system_a, first.system_b, first.label, first.votes) == ("bloom-7b", "llama-7b", "B", ("B",) * 3)
    assert len({p.prompt_id for p in data.pairs}) == 170
    subset = load_arena(shared_data / "pandalm" / "pandalm_testset_v1.jsonl", limit=3)
    assert len({p.prompt_id for p in subset.pairs}) == 3


def test_pandalm_human_leaderboard_reproduced(shared_data: Path) -> None:
    """The numbers in README/docs (python eval/arena_pandalm.py) come from the file as is."""
    pairs = load_arena(shared_data / "pandalm" / "pandalm_testset_v1.jsonl").pairs
    board = leaderboard(outcomes_from(pairs, [p.label for p in pairs]), n_boot=1000, seed=0)
    got = [(r["system"], round(r["rating"]), [round(x) for x in r["ci"]], (r["wins"], r["losses"], r["ties"]))
           for r in board["rows"]]
    assert got == [
        ("llama-7b", 1142, [1093, 1193], (281, 103, 37)),
        ("pythia-6.9b", 1014, [972, 1057], (182, 164, 46)),
        ("bloom-7b", 996, [954, 1038], (177, 186, 44)),
        ("opt-7b", 952, [911, 990], (140, 200, 46)),
        ("cerebras-gpt-6.7B", 895, [848, 940], (114, 241, 37)),
    ]
    assert fleiss_kappa([list(p.votes) for p in pairs]) == pytest.approx(0.864, abs=5e-4)
