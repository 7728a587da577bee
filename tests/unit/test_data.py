"""Loaders, schema detection, column mapping and every bad input the issue lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgekit.core.data import Columns, DataError, load_samples


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


SCHEMAS = [
    ({"prompt": "p", "chosen": "c", "rejected": "r"}, ("c", "r"), "A"),
    ({"prompt": "p", "response_a": "a", "response_b": "b", "label": "B"}, ("a", "b"), "B"),
    ({"prompt": "p", "response_a": "a", "response_b": "b"}, ("a", "b"), None),
    ({"input": "p", "output_1": "a", "output_2": "b", "label": 2}, ("a", "b"), "B"),
    ({"instruction": "p", "response1": "a", "response2": "b"}, ("a", "b"), None),
    ({"instruction": "p", "input": "", "response1": "a", "response2": "b", "majority_label": 0}, ("a", "b"), "tie"),
    ({"prompt": "p", "response_a": "a", "response_b": "b", "winner": "model_a"}, ("a", "b"), "A"),
]


@pytest.mark.parametrize(("row", "responses", "label"), SCHEMAS)
def test_schema_detection(tmp_path: Path, row: dict, responses: tuple, label: str | None) -> None:
    [s] = load_samples(write_jsonl(tmp_path / "d.jsonl", [row]), "pairwise")
    assert s.prompt == "p" and s.responses == responses and s.label == label


def test_pandalm_joins_instruction_and_input(tmp_path: Path) -> None:
    row = {"idx": 7, "instruction": "Summarise", "input": "Text here", "response1": "a", "response2": "b",
           "majority_label": 1}
    [s] = load_samples(write_jsonl(tmp_path / "d.jsonl", [row]), "pairwise")
    assert s.id == "7" and s.prompt == "Summarise\n\nText here" and s.label == "A"


def test_verify_schema_gsm8k(tmp_path: Path) -> None:
    row = {"id": "g1", "question": "q", "candidate_solution": "so 18", "reference_answer": "18", "is_correct": True}
    [s] = load_samples(write_jsonl(tmp_path / "d.jsonl", [row]), "verify")
    assert s.reference == "18" and s.label == "correct" and s.responses == ("so 18",)


def test_all_file_formats_agree(tmp_path: Path) -> None:
    import pandas as pd

    rows = [{"id": f"i{i}", "prompt": f"p{i}", "chosen": f"c{i}", "rejected": f"r{i}"} for i in range(3)]
    paths = [write_jsonl(tmp_path / "d.jsonl", rows)]
    (tmp_path / "d.json").write_text(json.dumps(rows))
    paths.append(tmp_path / "d.json")
    pd.DataFrame(rows).to_csv(tmp_path / "d.csv", index=False)
    paths.append(tmp_path / "d.csv")
    pd.DataFrame(rows).to_parquet(tmp_path / "d.parquet")
    paths.append(tmp_path / "d.parquet")
    import datasets

    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    paths.append(tmp_path / "ds")
    loaded = [load_samples(p, "pairwise") for p in paths]
    assert all(x == loaded[0] for x in loaded)
    assert [s.id for s in loaded[0]] == ["i0", "i1", "i2"]


def test_explicit_columns(tmp_path: Path) -> None:
    row = {"q": "p", "x": "a", "y": "b", "pref": "2", "key": "k1"}
    cols = Columns(prompt="q", responses=("x", "y"), label="pref", id="key")
    [s] = load_samples(write_jsonl(tmp_path / "d.jsonl", [row]), "pairwise", columns=cols)
    assert (s.id, s.prompt, s.responses, s.label) == ("k1", "p", ("a", "b"), "B")


def test_ids_default_to_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt":"p","chosen":"c","rejected":"r"}\n\n{"prompt":"q","chosen":"c","rejected":"r"}\n')
    assert [s.id for s in load_samples(path, "pairwise")] == ["line-1", "line-3"]


BAD_INPUTS = [
    ('{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": "p", "chosen": \n', "line 2", "malformed JSON"),
    ('{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": "p", "chosen": "c"}\n', "line 2", "'rejected'"),
    ('{"prompt": " ", "chosen": "c", "rejected": "r"}\n', "field 'prompt'", "empty text"),
    ('{"prompt": "p", "chosen": ["x"], "rejected": "r"}\n', "field 'chosen'", "expected text, got list"),
    ('{"prompt": "p", "chosen": null, "rejected": "r"}\n', "field 'chosen'", "expected text, got NoneType"),
    ('{"prompt": 3, "chosen": "c", "rejected": "r"}\n', "field 'prompt'", "expected text, got int"),
    ('{"id": 1, "prompt": "p", "chosen": "c", "rejected": "r"}\n{"id": 1, "prompt": "p", "chosen": "c", '
     '"rejected": "r"}\n', "line 2", "duplicate id '1'"),
    ("", "d.jsonl", "file is empty"),
    ("\n  \n", "d.jsonl", "file is empty"),
    ('[1, 2]\n', "line 1", "expected a JSON object"),
    ('{"prompt": "p", "response_a": "a", "response_b": "b", "label": "maybe"}\n', "field 'label'", "maybe"),
    ('{"text": "no known columns"}\n', "d.jsonl", "no known pairwise schema"),
]


@pytest.mark.parametrize(("content", "where", "what"), BAD_INPUTS)
def test_bad_input_names_file_line_field(tmp_path: Path, content: str, where: str, what: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_samples(path, "pairwise")
    message = str(err.value)
    assert str(path) in message and where in message and what in message


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": "\xff\xfe"}\n')
    with pytest.raises(DataError, match=r"line 2.*not valid UTF-8"):
        load_samples(path, "pairwise")


def test_missing_file_and_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_samples(tmp_path / "nope.jsonl")
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(DataError, match="unsupported file type"):
        load_samples(tmp_path / "d.txt")


def test_csv_line_numbers_count_the_header(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("prompt,chosen,rejected\np,c,r\n,c,r\n")
    with pytest.raises(DataError, match=r"line 3, field 'prompt': empty text"):
        load_samples(path, "pairwise")


def test_scalar_response_is_coerced_and_recorded(tmp_path: Path) -> None:
    [s] = load_samples(write_jsonl(tmp_path / "d.jsonl", [{"prompt": "p", "chosen": True, "rejected": "r"}]))
    assert s.responses == ("True", "r") and s.metadata["coerced_to_text"] == ["chosen"]


def test_empty_response_is_data_not_an_error(tmp_path: Path) -> None:
    [s] = load_samples(write_jsonl(tmp_path / "d.jsonl", [{"prompt": "p", "chosen": "c", "rejected": ""}]))
    assert s.responses == ("c", "")


def test_shared_llmbar_and_gsm8k_load(shared_data: Path) -> None:
    llmbar = load_samples(shared_data / "llmbar" / "llmbar.jsonl", "pairwise")
    assert len(llmbar) == 881 and {s.label for s in llmbar} == {"A", "B"}
    gsm = load_samples(shared_data / "gsm8k_verification" / "gsm8k_verification.jsonl", "verify", limit=20)
    assert len(gsm) == 20 and all(s.reference for s in gsm)
    panda = load_samples(shared_data / "pandalm" / "pandalm_testset_v1.jsonl", "pairwise")
    assert {s.label for s in panda} == {"A", "B", "tie"}
    hhh = load_samples(shared_data / "hhh_alignment" / "hhh_alignment.jsonl", "pairwise")
    # chosen/rejected: the displayed order is a seeded coin flip per item, the label follows it
    assert {s.label for s in hhh} == {"A", "B"} and all(s.metadata["chosen_position"] == s.label for s in hhh)
