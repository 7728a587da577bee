"""Master key lists: the bundled list with its attribution, and user files."""

from __future__ import annotations

import json

import pytest

from judgekit.probe.keys import BUNDLED, USER_FAMILY, KeyFileError, bundled_keys, load_keys


def test_bundled_list_matches_the_shared_copy_and_names_its_source(shared_data):
    keys = bundled_keys()
    shared = json.loads((shared_data / "master_keys" / "master_keys.json").read_text(encoding="utf-8"))
    assert json.loads(BUNDLED.read_text(encoding="utf-8")) == shared
    assert [k.key for k in keys.keys] == [k["key"] for k in shared["keys"]]
    assert "arXiv:2507.08794" in keys.source and "One Token to Fool" in keys.source
    assert keys.families() == ["non-word symbol", "reasoning opener", "multilingual opener"]
    assert " " in {k.key for k in keys.keys} and "解" in {k.key for k in keys.keys}
    assert load_keys(None) == keys


def test_text_file_one_key_per_line_keeps_blank_space(tmp_path):
    path = tmp_path / "keys.txt"
    path.write_text(":\n \r\nThought process:\n\nRespuesta\n", encoding="utf-8")
    keys = load_keys(path)
    assert [k.key for k in keys.keys] == [":", " ", "Thought process:", "Respuesta"]
    assert {k.family for k in keys.keys} == {USER_FAMILY}


@pytest.mark.parametrize("payload, expected", [
    ([":", "Solution"], [(":", USER_FAMILY), ("Solution", USER_FAMILY)]),
    ([{"key": "解", "family": "cjk"}], [("解", "cjk")]),
    ({"source": "mine", "keys": [{"key": "."}]}, [(".", USER_FAMILY)]),
])
def test_json_files(tmp_path, payload, expected):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    assert [(k.key, k.family) for k in load_keys(path).keys] == expected


@pytest.mark.parametrize("name, content, match", [
    ("k.json", "{not json", "malformed JSON"),
    ("k.json", json.dumps({"keys": [1]}), "neither a string"),
    ("k.json", json.dumps({"x": 1}), "expected a list"),
    ("k.txt", "\n\n", "no keys"),
    ("k.txt", ":\n:\n", "duplicate key"),
])
def test_bad_key_files(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KeyFileError, match=match):
        load_keys(path)


def test_missing_key_file(tmp_path):
    with pytest.raises(KeyFileError, match="not found"):
        load_keys(tmp_path / "nope.txt")
