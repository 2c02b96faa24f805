"""The package's layers only import downwards: a check over the import graph of src/motiongpt (ast, no import).

Every import of a `motiongpt` module anywhere in a file (top level, inside functions, under TYPE_CHECKING)
counts. A module's layer is its subpackage (`motiongpt.io.bvh` -> io) or, for a module at the package root, its
own name; `LAYERS` ranks every layer and a module may import its own rank or below. There are no exceptions:
fix the import (move the shared code down) rather than adding one.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "motiongpt"

LAYERS = {
    # foundations at the package root: no model or motion knowledge
    "utils": 0, "paths": 0, "progress": 0, "precision": 0, "argtypes": 0, "config": 1, "dist": 1,
    # motion as data, then files, datasets, the tokenizer and the language model
    "motion": 2, "io": 3, "data": 4, "tokenizer": 5, "lm": 6,
    # what uses a trained model; the service holds what the CLI commands and the demo share
    "eval": 7, "render": 7, "service": 8, "demo": 9,
    # training stages, then the command line and the package facade (`motiongpt.Pipeline`, lazily)
    "train": 10, "commands": 11, "cli": 12, "__init__": 12,
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(dotted: str) -> str:
    """'motiongpt.io.bvh' -> 'io'; 'motiongpt.config' -> 'config'; 'motiongpt' -> '__init__'."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, dotted motiongpt module) for every import in the file (relative ones resolved)."""
    package = _dotted(path) if path.name == "__init__.py" else _dotted(path).rpartition(".")[0]
    return _imports_in(path.read_text(encoding="utf-8"), package)


def _imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """(line, dotted motiongpt module) for every import in `source`, a module of `package`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found += [(node.lineno, _submodule(base, alias.name)) for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "motiongpt"]


def _submodule(base: str, name: str) -> str:
    """`from base import name`: the module `base.name` when it exists, else `base`."""
    candidate = PACKAGE.parent.joinpath(*f"{base}.{name}".split("."))
    return f"{base}.{name}" if candidate.with_suffix(".py").is_file() or candidate.is_dir() else base


def test_every_layer_is_ranked() -> None:
    layers = {_layer(_dotted(p)) for p in _modules()}
    assert layers - set(LAYERS) == set(), "add the new layer to LAYERS (at the rank of what it may import)"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path: Path) -> None:
    here = _layer(_dotted(path))
    upward = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} ({_layer(name)} is above {here})"
              for line, name in _imported(path) if LAYERS.get(_layer(name), -1) > LAYERS.get(here, -1)]
    assert upward == []


def test_the_checker_resolves_every_import_form() -> None:
    source = ("import numpy\nfrom ..lm import model\nfrom . import quaternion\nimport motiongpt.eval.metrics\n"
              "def f():\n    from motiongpt import dist, __version__\n")
    names = [name for _, name in _imports_in(source, "motiongpt.motion")]
    assert names == ["motiongpt.lm.model", "motiongpt.motion.quaternion", "motiongpt.eval.metrics", "motiongpt.dist",
                     "motiongpt"]
    assert [_layer(n) for n in names] == ["lm", "motion", "eval", "dist", "__init__"]
