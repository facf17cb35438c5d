"""deploy/grafana/: the dashboard of one region, checked offline against a JSON Schema of the parts
of Grafana's dashboard model it uses, then for what a schema cannot say: panels on the 24-column
grid without overlapping, every ``$variable`` defined, and every query a PromQL expression that
names only series and labels the services expose."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from .promql import problems, read

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((REPO / "deploy" / "grafana").glob("*.json"))
GRAFANA_VARIABLES = {"__rate_interval", "__interval", "__range"}  # Grafana's own

DATASOURCE = {"type": "object", "required": ["type", "uid"],
              "properties": {"type": {"const": "prometheus"}, "uid": {"const": "${datasource}"}}}
GRID = {"type": "object", "required": ["x", "y", "w", "h"], "additionalProperties": False,
        "properties": {"x": {"type": "integer", "minimum": 0, "maximum": 23},
                       "y": {"type": "integer", "minimum": 0},
                       "w": {"type": "integer", "minimum": 1, "maximum": 24},
                       "h": {"type": "integer", "minimum": 1}}}
TARGET = {"type": "object", "required": ["refId", "expr"],
          "properties": {"refId": {"type": "string", "pattern": "^[A-Z]$"}, "expr": {"type": "string", "minLength": 1},
                         "legendFormat": {"type": "string"}, "datasource": DATASOURCE}}
PANEL = {
    "type": "object", "required": ["id", "type", "title", "gridPos"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "type": {"enum": ["row", "timeseries", "stat", "gauge", "table", "bargauge", "text"]},
        "title": {"type": "string", "minLength": 1},
        "gridPos": GRID,
        "datasource": DATASOURCE,
        "targets": {"type": "array", "items": TARGET, "minItems": 1},
        "fieldConfig": {"type": "object", "required": ["defaults"]},
    },
    "if": {"properties": {"type": {"const": "row"}}},
    "then": {"required": ["collapsed", "panels"]},
    "else": {"required": ["datasource", "targets"]},
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "templating", "time"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 30},
        "time": {"type": "object", "required": ["from", "to"]},
        "refresh": {"type": "string"},
        "panels": {"type": "array", "items": PANEL, "minItems": 1},
        "templating": {"type": "object", "required": ["list"], "properties": {"list": {"type": "array", "items": {
            "type": "object", "required": ["name", "type"],
            "properties": {"name": {"type": "string", "pattern": "^[a-z_]+$"},
                           "type": {"enum": ["datasource", "query", "custom", "constant", "interval"]}}}}}},
    },
}


def panels(dashboard: dict) -> list[dict]:
    return list(dashboard["panels"]) + [child for p in dashboard["panels"] for child in p.get("panels", [])]


def queries(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]


def as_prometheus_sees_it(expr: str) -> str:
    """The query once Grafana has put its variables in."""
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: f"{m[1]}-value", expr)


@pytest.fixture(params=DASHBOARDS, ids=lambda p: p.name)
def dashboard(request) -> dict:
    return json.loads(request.param.read_text())


def test_there_is_a_dashboard():
    assert DASHBOARDS


def test_the_dashboard_fits_the_schema_of_grafanas_model(dashboard):
    jsonschema.validate(dashboard, SCHEMA)


def test_panels_have_unique_ids_and_sit_on_the_grid_without_overlapping(dashboard):
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        columns, rows = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        cells = {(x, y) for x in columns for y in rows}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_variable_a_query_uses_is_defined_and_region_is_one(dashboard):
    defined = {variable["name"] for variable in dashboard["templating"]["list"]}
    used = {name for text in queries(dashboard) + [json.dumps(dashboard["panels"])]
            for name in re.findall(r"\$\{?(\w+)", text)}
    assert used - GRAFANA_VARIABLES <= defined
    assert {"datasource", "region"} <= defined
    region = next(v for v in dashboard["templating"]["list"] if v["name"] == "region")
    assert problems(region["definition"].removeprefix("label_values(").split(",")[0]) == []


def test_every_query_is_promql_on_the_services_series_and_keeps_to_its_region(dashboard):
    for expr in queries(dashboard):
        assert problems(as_prometheus_sees_it(expr)) == [], expr
        selectors = re.findall(r"\b(shebao_\w+)(\{[^}]*\})?", expr)
        assert all('region="$region"' in (matchers or "") for _, matchers in selectors), expr


def test_the_dashboard_shows_every_family_the_issue_names(dashboard):
    shown = set().union(*(read(as_prometheus_sees_it(expr)).metrics for expr in queries(dashboard)))
    for family in ("shebao_http_request_duration_seconds_count", "shebao_http_request_duration_seconds_bucket",
                   "shebao_consumer_lag_records", "shebao_dlq_records", "shebao_outbox_oldest_pending_seconds",
                   "shebao_outbox_parked", "shebao_outbox_relay_failures_total",
                   "shebao_applications_submitted_total", "shebao_applications_approved_total",
                   "shebao_bills_issued_total", "shebao_bills_issued_cny_total", "shebao_payments_received_total",
                   "shebao_payments_received_cny_total", "shebao_bills_overdue_total",
                   "shebao_enrolments_suspended_total", "shebao_notifications_total"):
        assert family in shown


def test_the_dashboard_shows_the_pools_line_and_the_requests_it_shed(dashboard):
    shown = set().union(*(read(as_prometheus_sees_it(expr)).metrics for expr in queries(dashboard)))
    assert {"shebao_db_pool_wait_seconds_bucket", "shebao_db_pool_shed_total"} <= shown
