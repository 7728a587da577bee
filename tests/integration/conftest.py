"""Integration fixtures: the real embedded model, loaded once per test session."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test."""
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def embedded_backend():  # type: ignore[no-untyped-def]
    """The transformers backend on the embedded SmolLM2-135M (converted once, cached)."""
    from judgekit.backends import get_backend

    return get_backend("transformers", batch_size=8)
