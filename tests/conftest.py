"""Test-wide setup: offline, CPU only, no real LLM calls, a fresh cache per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["VIDREASON_FORBID_LLM_NETWORK"] = "1"
for _name in list(os.environ):  # a developer's own settings must not leak into tests
    if _name.startswith("VIDREASON_") and _name != "VIDREASON_FORBID_LLM_NETWORK":
        del os.environ[_name]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cache"
    d.mkdir()
    return d


@pytest.fixture
def settings(cache_dir: Path):
    """Fast CPU settings with an isolated cache."""
    from vidreason.tools.core.settings import Settings

    return Settings(profile="fast", device="cpu", cache_dir=cache_dir)
