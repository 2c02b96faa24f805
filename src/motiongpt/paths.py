"""Default locations: the shared data folder, the repository's default checkpoint, the working data folder.

Everything can be overridden by environment variables so that an installed package never guesses:
`MOTIONGPT_SHARED` (default `../shared` beside the repository), `MOTIONGPT_MODEL` (default
`checkpoints/default` in the repository), `MOTIONGPT_DATA` (default `data/` in the repository).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The read-only shared folder (`../shared` beside the checkout)."""
    return Path(os.environ.get("MOTIONGPT_SHARED", REPO_ROOT.parent / "shared"))


def shared_data(*parts: str) -> Path:
    """A path under `shared/data/`."""
    return shared_dir().joinpath("data", *parts)


def default_model_dir() -> Path:
    """The shipped default model (Hugging Face layout, see checkpoints/default/README.md)."""
    return Path(os.environ.get("MOTIONGPT_MODEL", REPO_ROOT / "checkpoints" / "default"))


def data_dir() -> Path:
    """Where built datasets go by default (git-ignored)."""
    return Path(os.environ.get("MOTIONGPT_DATA", REPO_ROOT / "data"))
