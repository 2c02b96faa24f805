"""Shared test fixtures: paths to ../shared data (skipping with a reason when absent), small torch threads."""
from __future__ import annotations

from pathlib import Path

import pytest

from motiongpt.paths import shared_data

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (set MOTIONGPT_SHARED to the shared folder)")
    return path


@pytest.fixture(scope="session")
def humanml3d_dir() -> Path:
    """../shared/data/humanml3d (metadata + five real sample motions)."""
    return _require(shared_data("humanml3d"))


@pytest.fixture(scope="session")
def cmu_dir() -> Path:
    """../shared/data/cmu (three CMU BVH files)."""
    return _require(shared_data("cmu"))


@pytest.fixture(scope="session")
def bandai_tar() -> Path:
    """../shared/data/bandai/bandai-namco-motion.tar.xz."""
    return _require(shared_data("bandai", "bandai-namco-motion.tar.xz"))
