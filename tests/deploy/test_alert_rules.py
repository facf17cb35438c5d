"""deploy/prometheus/rules/: Prometheus alerting rules, checked offline as ``promtool check rules``
would (structure, durations, PromQL that parses), and further: every series and label an
expression names is one the services expose, and every alert has its section in the runbook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .promql import DURATION, problems

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "deploy" / "prometheus" / "rules"
RUNBOOK = REPO / "docs" / "operations.md"
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
SEVERITIES = {"warning", "critical"}
ALERTS_THE_ISSUE_ASKS_FOR = {  # issue 17: outbox stuck, DLQ growing, lag rising, error rate, flapping, billing run
    "ShebaoOutboxStuck", "ShebaoDeadLettersGrowing", "ShebaoConsumerLagRising", "ShebaoHighErrorRate",
    "ShebaoReadinessFlapping", "ShebaoBillingRunFailed", "ShebaoBillingRunOverdue",
    "ShebaoOutboxParked",  # issue 12: a row the broker refuses is parked, and an operator must look
}


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def all_rules() -> list[dict]:
    return [rule for path in rule_files() for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def test_the_rule_files_are_where_prometheus_yml_loads_them_from():
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert rule_files(), "no rule file in deploy/prometheus/rules/"


@pytest.mark.parametrize("path", rule_files(), ids=lambda p: p.name)
def test_each_file_is_groups_of_rules_as_prometheus_reads_them(path):
    document = yaml.safe_load(path.read_text())

    assert set(document) == {"groups"}
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names)), "group names must be unique in a file"
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "limit", "rules"}, group["name"]
        assert group["rules"], f"group {group['name']} has no rule"
        for rule in group["rules"]:
            assert set(rule) <= RULE_KEYS and {"alert", "expr"} <= set(rule), rule
            if "for" in rule:
                assert DURATION.match(rule["for"]), f"{rule['alert']}: bad duration {rule['for']!r}"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r["alert"])
def test_each_expression_parses_and_names_only_series_and_labels_the_services_expose(rule):
    assert problems(rule["expr"]) == []


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r["alert"])
def test_each_alert_has_a_severity_a_summary_and_its_section_in_the_runbook(rule):
    assert rule["labels"]["severity"] in SEVERITIES
    assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
    assert rule["annotations"]["runbook_url"] == f"docs/operations.md#{rule['alert'].lower()}"
    assert rule["alert"] in runbook_sections(), f"docs/operations.md has no '### {rule['alert']}'"
    for text in rule["annotations"].values():  # Go templates: only the variables Prometheus gives
        assert set(re.findall(r"\{\{\s*\$(\w+)", text)) <= {"labels", "value", "externalLabels"}


def test_the_alerts_the_issue_asks_for_exist_once_each():
    names = [rule["alert"] for rule in all_rules()]
    assert len(names) == len(set(names))
    assert ALERTS_THE_ISSUE_ASKS_FOR <= set(names)


def runbook_sections() -> set[str]:
    return set(re.findall(r"^### (\w+)\s*$", RUNBOOK.read_text(), flags=re.MULTILINE))


def test_the_checker_refuses_what_prometheus_would_not_run():
    assert problems("max by (region) (shebao_outbox_pending") != []  # does not parse
    assert problems("rate(shebao_bills_paid_total[5m]) > 0") == ["no service exposes shebao_bills_paid_total"]
    assert problems('shebao_outbox_pending{queue="x"} > 0') == ["no series it selects has the label 'queue'"]
    assert problems("time() > 1 > 2") != []  # scalars compared without bool
