"""The documentation's code runs: README.md's ```python blocks (with the shipped default model) and the `>>>`
examples in module docstrings (doctest). A `# (...)` comment after an expression line states its value."""
from __future__ import annotations

import ast
import doctest
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "motiongpt"
DEFAULT_MODEL = ROOT / "checkpoints" / "default"
_STATED = re.compile(r"^(?P<expr>[^#\n]+?)\s+#\s*(?P<value>\([^)]*\))")


def readme_blocks() -> list[str]:
    """The ```python blocks of README.md, in order."""
    return re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.M | re.S)


def stated_values(block: str) -> list[tuple[str, object]]:
    """(expression, value) for lines like `res.joints.shape   # (80, 22, 3), metres` (a literal tuple first)."""
    found = []
    for line in block.splitlines():
        m = _STATED.match(line)
        if m:
            try:
                found.append((m["expr"].strip(), ast.literal_eval(m["value"])))
            except (ValueError, SyntaxError):
                continue
    return found


def doctest_modules() -> list[str]:
    """Dotted names of the package modules whose docstrings hold `>>>` examples."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            names.append(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    return names


def test_stated_values_are_parsed() -> None:
    assert stated_values("x.shape   # (80, 22, 3), metres\ny = 1  # not a value\n") == [("x.shape", (80, 22, 3))]


def test_readme_has_python_examples() -> None:
    assert readme_blocks(), "README.md lost its ```python examples"


@pytest.mark.parametrize("index", range(len(readme_blocks())))
def test_readme_python_block_runs(index: int, capsys) -> None:
    block = readme_blocks()[index]
    if "from_pretrained()" in block and not (DEFAULT_MODEL / "lm").is_dir():
        pytest.skip(f"default model not found: {DEFAULT_MODEL}")
    namespace: dict = {}
    exec(compile(block, f"README.md python block {index + 1}", "exec"), namespace)
    for expr, value in stated_values(block):
        assert eval(expr, namespace) == value, f"README says {expr} is {value}"


def test_docstring_examples_exist() -> None:
    assert len(doctest_modules()) >= 4


@pytest.mark.parametrize("name", doctest_modules())
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0 and result.failed == 0
