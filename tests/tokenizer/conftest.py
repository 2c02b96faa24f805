"""Reuses the tiny HumanML3D-layout builder of tests/train/conftest.py (loaded by path: tests are not a package)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_tiny_data", Path(__file__).parents[1] / "train" / "conftest.py")
_tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tiny)
build_tiny_dataset = _tiny.build_tiny_dataset


@pytest.fixture
def tiny_motion_dir(tmp_path: Path) -> Path:
    """A HumanML3D-layout dir with 4 train, 2 val and 2 test motions."""
    return build_tiny_dataset(tmp_path / "tiny", {"train": [24, 32, 40, 20], "val": [28, 33], "test": [25, 40]})
