"""Every Python block of the README and the API pages runs, on the scripted test backend.

The blocks are executed as written (each in a fresh namespace, from a scratch directory
that holds ``examples/``); only the model is swapped: ``judgekit.Judge`` builds its
runner around :class:`~judgekit.backends.fake.FakeBackend` instead of loading
``judgekit-135m``. tests/integration/test_api_embedded.py runs the README's pair and
verification on the real model.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from judgekit import api
from judgekit.backends.fake import FakeBackend
from judgekit.core.runner import Runner
from judgekit.options import JudgeOptions

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", "docs/python_api.md", "docs/index.md")
BLOCK = re.compile(r"```python\n(.*?)\n```", flags=re.DOTALL)


def blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            found.append((page, text[: m.start()].count("\n") + 1, m.group(1)))
    return found


def test_the_pages_have_examples() -> None:
    pages = {page for page, _, _ in blocks()}
    assert pages == set(PAGES) and len(blocks()) >= 7


@pytest.mark.parametrize(("page", "line", "code"), blocks(), ids=[f"{p}:{n}" for p, n, _ in blocks()])
def test_example_runs(page: str, line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    built: list[JudgeOptions] = []

    def fake_runner(opts: JudgeOptions) -> Runner:
        built.append(opts)
        return Runner(backend=FakeBackend())

    monkeypatch.setattr(api, "build_runner", fake_runner)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    exec(compile(code, f"{page}:{line}", "exec"), {"__name__": "__docs_example__"})  # noqa: S102
    printed = capsys.readouterr().out
    if "print(" in code:
        assert printed.strip(), f"{page}:{line}: printed nothing"
    if "Judge(" in code and "except TypeError" not in code:
        assert built, f"{page}:{line}: no judge was run"
    assert all(o.model is None and o.backend == "transformers" for o in built)  # the default judge, as written
