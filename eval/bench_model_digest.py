"""What the full-content model identity costs: hashing the embedded GGUF once, then the remembered digest.

Run (docs/security.md, "Cache and resume identity of a local model"):
    python eval/bench_model_digest.py

Uses a throw-away digest store (``$JUDGEKIT_CACHE`` is pointed at a temporary
directory), so the first call really reads every byte; the second call, after the
in-memory memo is cleared, reads the digest back from the store.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JUDGEKIT_CACHE"] = tmp
        from judgekit.core import models

        path = models.default_model_path()
        started = time.perf_counter()
        models.file_digest(path)
        first = time.perf_counter() - started
        models._DIGESTS.clear()
        started = time.perf_counter()
        models.file_digest(path)
        again = time.perf_counter() - started
    print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB; first digest {first:.2f} s; "
          f"remembered digest {again:.4f} s")


if __name__ == "__main__":
    main()
