"""The presentation package stays below the runtime and the CLI, which both use it."""

from __future__ import annotations

from tests.support import fresh_python


def test_presentation_loads_neither_ray_nor_the_runtime_nor_the_cli() -> None:
    """Importing the view and the formatters pulls in no Ray, no core.runtime, no cli."""
    code = (
        "import sys\n"
        "import cosmos_curate.presentation.format, cosmos_curate.presentation.progress_view\n"
        "bad = sorted(m for m in sys.modules if m == 'ray' or m.startswith(("
        "'ray.', 'cosmos_curate.cli', 'cosmos_curate.core.runtime')))\n"
        "print(','.join(bad))\n"
    )
    proc = fresh_python(code, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
