"""The Grafana dashboard: valid JSON in Grafana's dashboard model, one panel per guide query."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.observability.guide_queries import GUIDE_QUERIES, normalize

DASHBOARD = Path(__file__).resolve().parents[2] / "observability" / "grafana" / "cosmos-curate.json"


def load_dashboard() -> dict[str, Any]:
    """The dashboard as Grafana would import it."""
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def dashboard_exprs() -> list[str]:
    """Every panel query of the dashboard, whitespace-normalized."""
    return [
        normalize(target["expr"])
        for panel in load_dashboard()["panels"]
        for target in panel["targets"]
    ]


def test_dashboard_is_a_grafana_dashboard() -> None:
    """It loads, and has what Grafana's import needs: title, uid, schema, laid-out panels."""
    data = load_dashboard()
    assert data["title"] and data["uid"]
    assert isinstance(data["schemaVersion"], int)
    ids = [panel["id"] for panel in data["panels"]]
    assert len(ids) == len(set(ids))
    for panel in data["panels"]:
        assert panel["type"] == "timeseries"
        assert panel["title"]
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["datasource"]["type"] == "prometheus"
        assert panel["targets"] and all(t["refId"] and t["expr"] for t in panel["targets"])
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"


def test_one_panel_per_guide_query() -> None:
    """Each guide query has exactly one panel, and no panel runs anything else."""
    exprs = dashboard_exprs()
    guide = [normalize(q.expr) for q in GUIDE_QUERIES]
    assert sorted(exprs) == sorted(guide)


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "PIPELINE_DESIGN_GUIDE.md"


def guide_queries_from_doc() -> list[str]:
    """The PromQL of the guide's "Performance Monitoring" code block, one entry per query.

    A query ends at a comment or blank line, or where the next line starts a new expression:
    parentheses balanced so far and neither line a binary-operator continuation (`/ on ...`).
    """
    text = GUIDE.read_text()
    section = text[text.index("### Performance Monitoring") :]
    block = section[section.index("```bash") + len("```bash") : section.index("```\n", 10)]
    queries: list[str] = []
    current: list[str] = []
    for line in [*block.splitlines(), "#"]:
        if line.startswith("#") or not line.strip():
            if current:
                queries.append(normalize("\n".join(current)))
                current = []
            continue
        so_far = "\n".join(current)
        balanced = so_far.count("(") == so_far.count(")")
        continued = current and (current[-1].lstrip().startswith("/") or line.lstrip()[0] in "/)")
        if current and balanced and not continued:
            queries.append(normalize(so_far))
            current = []
        current.append(line)
    return queries


def test_the_tested_queries_are_exactly_the_guides() -> None:
    """The queries the tests run and the dashboard shows are the guide's, verbatim."""
    assert sorted(guide_queries_from_doc()) == sorted(normalize(q.expr) for q in GUIDE_QUERIES)
