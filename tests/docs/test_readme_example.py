"""The README's pipeline example works as printed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.integration
def test_readme_python_example_runs(ray_cluster: dict[str, Any]) -> None:
    """Copying the tour's code gives lower-cased docs with word counts."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "README lost its python example"
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    docs = sorted(namespace["docs"], key=lambda d: d.words)
    assert [(d.text, d.words) for d in docs] == [("hello world", 2), ("a b c", 3)]
