"""PromQL read the way Prometheus reads it, offline: parsed (and type-checked) by
``promql-parser``, then walked for the series it selects and the labels it names, to check them
against what the services really expose (every family is defined in ``shared/metrics.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import promql_parser
from prometheus_client import REGISTRY

import shared.metrics  # noqa: F401  (registers every family the services expose)

# Labels every series has once scraped (target labels), or that the exposition adds (region).
TARGET_LABELS = {"job", "instance", "region"}
# Series Prometheus itself makes for each target.
PROMETHEUS_SERIES = {"up": set(), "scrape_duration_seconds": set()}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def exposed_series() -> dict[str, set[str]]:
    """Every series name the services expose (``_total``, ``_bucket`` … included), with its labels."""
    series: dict[str, set[str]] = dict(PROMETHEUS_SERIES)
    for family in REGISTRY.collect():
        if not family.name.startswith("shebao_"):
            continue
        labels = {label for sample in family.samples for label in sample.labels} | _declared_labels(family.name)
        for suffix in _suffixes(family.type):
            series[family.name + suffix] = labels - {"le"} | ({"le"} if suffix == "_bucket" else set())
    return series


def _suffixes(kind: str) -> tuple[str, ...]:
    return {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}.get(kind, ("",))


def _declared_labels(name: str) -> set[str]:
    for collector in vars(shared.metrics).values():
        if getattr(collector, "_name", None) == name:
            return set(collector._labelnames)
    return set()


@dataclass
class Reading:
    """What one expression selects and which label names it uses."""

    metrics: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)


def read(expr: str) -> Reading:
    """Parse ``expr`` (a ``ValueError`` if Prometheus would refuse it) and collect its names."""
    reading = Reading()
    for node in _walk(promql_parser.parse(expr)):
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                reading.metrics.add(node.name)
            reading.labels |= {matcher.name for matcher in node.matchers.matchers if matcher.name != "__name__"}
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            reading.labels |= set(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            matching = node.modifier.matching
            reading.labels |= set(matching.labels) if matching is not None else set()
    return reading


def _walk(node) -> Iterator[object]:
    yield node
    if isinstance(node, promql_parser.MatrixSelector):
        yield from _walk(node.vector_selector)
    elif isinstance(node, promql_parser.BinaryExpr):
        yield from _walk(node.lhs)
        yield from _walk(node.rhs)
    elif isinstance(node, promql_parser.Call):
        for argument in node.args:
            yield from _walk(argument)
    elif isinstance(node, promql_parser.AggregateExpr):
        yield from _walk(node.expr)
        if node.param is not None:
            yield from _walk(node.param)
    elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        yield from _walk(node.expr)


def problems(expr: str) -> list[str]:
    """Why ``expr`` would not work against Shebao's metrics (empty when it would)."""
    try:
        reading = read(expr)
    except ValueError as error:
        return [f"does not parse: {error}"]
    series = exposed_series()
    found = [f"no service exposes {name}" for name in sorted(reading.metrics - set(series))]
    known = TARGET_LABELS.union(*(series.get(name, set()) for name in reading.metrics))
    found += [f"no series it selects has the label {label!r}" for label in sorted(reading.labels - known)]
    if not reading.metrics:
        found.append("selects no series")
    return found
