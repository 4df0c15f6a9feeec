"""Strict JAX settings for the whole suite: implicit rank promotion is an error."""

from pathlib import Path

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the dataset files of shared/data are not at {SHARED_DATA}")
    return SHARED_DATA
