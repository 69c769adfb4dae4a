"""Clause templates as data: every ``*.yaml`` file in this folder is one template.

A second template is added by dropping a file here; no code changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dpa_tracker.agreement.settings import BY_NAME as SETTINGS_BY_NAME
from dpa_tracker.agreement.settings import NAMES as SETTING_NAMES

CATALOGUE_DIR = Path(__file__).parent
DEFAULT_TEMPLATE = "altinsoft-dpa"
RULE_TYPES = {"standing", "recurring", "deadline", "event", "on_request"}
# Facts computed by the application (see obligation.services.blockers_for, subprocessor.documents).
REQUIREMENTS = {
    "art30_record",
    "subprocessor_guarantees",
    "subprocessor_flow_down",
    "processing_stopped",
    "processing_scope",
    "agents_authorised",
    "agents_access_removed",
    "transfer_consent",
    "breach_actions",
}
AGREEMENT_SETTINGS = SETTING_NAMES
# What unit the setting named by each rule key must be in ("hours_setting" needs an hours setting).
SETTING_UNITS = {"days_setting": "days", "hours_setting": "hours", "lasts_years_setting": "years"}


class CatalogueError(ValueError):
    """A template file is malformed."""


@dataclass(frozen=True)
class ClauseEntry:
    number: str
    section: str
    title: str
    summary: str
    gdpr: str
    rule: dict[str, Any]


@dataclass(frozen=True)
class Template:
    key: str
    version: int
    title: str
    clauses: tuple[ClauseEntry, ...]


def _check_rule(number: str, rule: dict[str, Any]) -> None:
    kind = rule.get("type")
    empty = sorted(key for key, value in rule.items() if value is None)
    if empty:  # e.g. an unquoted comma in a YAML flow mapping makes a key with no value
        raise CatalogueError(f"clause {number}: rule keys without a value: {', '.join(empty)}")
    if kind not in RULE_TYPES:
        raise CatalogueError(f"clause {number}: unknown rule type {kind!r}")
    for key, value in rule.items():
        if key.endswith("_setting") and value not in AGREEMENT_SETTINGS:
            raise CatalogueError(f"clause {number}: {key} names unknown agreement setting {value!r}")
        if key in SETTING_UNITS and SETTINGS_BY_NAME[value].unit != SETTING_UNITS[key]:
            raise CatalogueError(
                f"clause {number}: {key} needs a setting in {SETTING_UNITS[key]}, "
                f"{value!r} is in {SETTINGS_BY_NAME[value].unit}"
            )
    if "requires" in rule and rule["requires"] not in REQUIREMENTS:
        raise CatalogueError(f"clause {number}: unknown requirement {rule['requires']!r}")
    if kind == "recurring" and int(rule.get("every_months", 0)) < 1:
        raise CatalogueError(f"clause {number}: recurring rule needs every_months >= 1")
    if kind == "deadline" and not ({"days", "days_setting"} & rule.keys()):
        raise CatalogueError(f"clause {number}: deadline rule needs days or days_setting")
    if kind in ("event", "on_request") and not ({"days", "hours", "hours_setting", "days_setting"} & rule.keys()):
        raise CatalogueError(f"clause {number}: {kind} rule needs a clock (days or hours)")
    if "events_from" in rule and kind not in ("event", "on_request"):
        raise CatalogueError(f"clause {number}: only event and on_request rules take events_from")


def parse_template(data: dict[str, Any]) -> Template:
    try:
        clauses = tuple(
            ClauseEntry(
                number=str(c["number"]),
                section=str(c["section"]),
                title=str(c["title"]),
                summary=str(c["summary"]),
                gdpr=str(c.get("gdpr", "")),
                rule=dict(c["rule"]),
            )
            for c in data["clauses"]
        )
        template = Template(
            key=str(data["key"]), version=int(data["version"]), title=str(data["title"]), clauses=clauses
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"malformed template: {exc}") from exc
    numbers = [c.number for c in clauses]
    if len(set(numbers)) != len(numbers):
        raise CatalogueError(f"template {template.key}: duplicate clause numbers")
    for clause in clauses:
        _check_rule(clause.number, clause.rule)
        source = clause.rule.get("events_from")
        if source is not None and (source not in numbers or source == clause.number):
            raise CatalogueError(f"clause {clause.number}: events_from names no other clause ({source!r})")
    return template


@cache
def load_templates(directory: Path = CATALOGUE_DIR) -> dict[str, Template]:
    templates = {}
    for path in sorted(directory.glob("*.yaml")):
        template = parse_template(yaml.safe_load(path.read_text(encoding="utf-8")))
        templates[template.key] = template
    return templates


def get_template(key: str) -> Template:
    try:
        return load_templates()[key]
    except KeyError:
        raise CatalogueError(f"unknown clause template {key!r}") from None
