"""The on-disk constraint index cache holds plain bytes: nothing written there can run code."""

from __future__ import annotations

import pickle
from pathlib import Path

from outlines_core import Vocabulary

from judgekit.backends.constrain import IndexCache, TokenizerVocab

VOCAB = TokenizerVocab(Vocabulary(3, {b"A": [0], b"B": [1], b"tie": [2]}), 3, "tiny-vocab")


class Boom:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.write_text, (Path(self.target), "pwned"))  # type: ignore[attr-defined]

    def __init__(self, target: Path) -> None:
        self.target = str(target)


def test_index_round_trips_through_the_disk_cache(tmp_path: Path) -> None:
    first = IndexCache(tmp_path).get("(A|B|tie)", VOCAB)
    [entry] = list(tmp_path.iterdir())
    assert entry.read_bytes().startswith(b"judgekit-index-v1\n")
    again = IndexCache(tmp_path).get("(A|B|tie)", VOCAB)  # a new process: read from disk
    assert again.index.get_final_states() == first.index.get_final_states()
    assert again.index.get_transitions() == first.index.get_transitions()


def test_a_planted_pickle_is_never_loaded(tmp_path: Path) -> None:
    IndexCache(tmp_path).get("(A|B)", VOCAB)
    [entry] = list(tmp_path.iterdir())
    marker = tmp_path / "marker"
    entry.write_bytes(pickle.dumps(Boom(marker)))
    compiled = IndexCache(tmp_path).get("(A|B)", VOCAB)  # recompiled, the planted file ignored
    assert not marker.exists()
    assert len(compiled.index.get_final_states()) >= 1


def test_an_altered_entry_is_recompiled(tmp_path: Path) -> None:
    IndexCache(tmp_path).get("(A|B)", VOCAB)
    [entry] = list(tmp_path.iterdir())
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert IndexCache(tmp_path).get("(A|B)", VOCAB).index.get_final_states()
