"""Run several ``judgekit judge`` command lines in one process, sharing one vLLM engine.

Used by tests/integration/test_vllm_cpu.py inside the vLLM environment
(scripts/install_vllm.sh): starting a vLLM engine costs tens of seconds on CPU, so the
command lines (a JSON list of argument lists, argv[1]) go through judgekit's real CLI one
after the other while ``judgekit.core.backend.get_backend`` (what ``open_backend`` builds
with) hands back the engine already built for the same backend arguments. Each command's
exit code is written to argv[2].

    python tests/integration/vllm_cli_driver.py commands.json codes.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's judgekit first

import judgekit.core.backend as core_backend  # noqa: E402
from judgekit.cli.app import app  # noqa: E402

_built: dict[str, Any] = {}
_get_backend = core_backend.get_backend


def shared_backend(name: str, **kwargs: Any) -> Any:
    """``get_backend``, built once per distinct (name, arguments)."""
    key = json.dumps([name, kwargs], sort_keys=True, default=str)
    if key not in _built:
        _built[key] = _get_backend(name, **kwargs)
    return _built[key]


def main() -> None:
    commands = json.loads(Path(sys.argv[1]).read_text())
    core_backend.get_backend = shared_backend  # type: ignore[assignment]
    codes = []
    for argv in commands:
        try:
            code = app(argv, standalone_mode=False)
        except SystemExit as exc:  # typer.Exit from fail()
            code = exc.code
        codes.append(int(code or 0))
        print(f"driver: {' '.join(argv[:2])} ... -> {codes[-1]} (engines built: {len(_built)})", flush=True)
    Path(sys.argv[2]).write_text(json.dumps({"codes": codes, "engines": len(_built)}))


if __name__ == "__main__":
    main()
