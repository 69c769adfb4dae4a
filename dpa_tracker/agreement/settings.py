"""The per-agreement settings that parameterise deadlines: declared once, read by everything else.

The model's columns and check constraints, the agreement form, the service's validation, the API
schemas and OpenAPI document, the catalogue's ``*_setting`` check and the status engine's terms are
all derived from ``SETTINGS``. Why each default is what it is: docs/obligation-rules.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    unit: str  # "days", "hours" or "years": what the rule key ``<unit>_setting`` / ``lasts_years_setting`` expects
    clause: str
    default: int
    low: int
    high: int
    constraint: str = ""  # check constraint name (without the ck_agreement_ prefix); default "<name>_range"
    working_days: bool = False  # days counted on the processor's working-day calendar (dpa_tracker/workdays.py)

    @property
    def check_name(self) -> str:
        return self.constraint or f"{self.name}_range"

    @property
    def check_sql(self) -> str:
        return f"{self.name} BETWEEN {self.low} AND {self.high}"

    @property
    def unit_text(self) -> str:
        """The unit as pages say it: "working days" for a count on the working-day calendar."""
        return "working days" if self.working_days else self.unit

    @property
    def title(self) -> str:
        """What a form or page shows: the label, its unit and its clause."""
        return f"{self.label} ({self.unit_text}, clause {self.clause})"

    def describe(self) -> str:
        return f"{self.title}; {self.low}-{self.high}, default {self.default}."


SETTINGS: tuple[Setting, ...] = (  # in clause order, as the pages list them
    Setting("confidentiality_years", "Confidentiality after expiry", "years", "2.2", 5, 0, 50),
    Setting("instruction_alert_hours", "Alert on an unlawful instruction", "hours", "3.1(3)", 24, 1, 72),
    Setting("rectification_days", "Carry out a correction or erasure request", "days", "3.1(6)", 7, 1, 30),
    Setting("assistance_days", "Assist with an authority or data-subject request", "days", "3.1(7)", 7, 1, 30),
    Setting("compliance_info_days", "Give information showing compliance", "days", "3.1(8)", 15, 1, 90),
    Setting("record_copy_days", "Hand over a copy of the Art. 30(2) record", "days", "4.2", 5, 1, 30),
    Setting("art30_info_days", "Give information for the client's Art. 30(1) record", "days", "4.3", 15, 1, 90),
    Setting(
        "subprocessor_objection_days",
        "Sub-processor objection period",
        "days",
        "6.1",
        30,
        1,
        365,
        constraint="objection_days_range",
    ),
    Setting("breach_notice_hours", "Breach notice target", "hours", "8.1", 24, 1, 720, constraint="breach_hours_range"),
    Setting("dsr_forward_days", "Forward a data-subject request", "days", "9.1", 2, 1, 30, working_days=True),
    Setting("document_request_days", "Provide documents requested for an audit", "days", "11.1", 15, 1, 90),
    Setting("audit_notice_days", "Agree the terms of an audit after the request", "days", "11.2", 30, 1, 180),
    Setting("deletion_days", "Deletion period after the end", "days", "13", 10, 1, 365),
)
BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}
NAMES: frozenset[str] = frozenset(BY_NAME)
WORKING_DAY_SETTINGS: frozenset[str] = frozenset(s.name for s in SETTINGS if s.working_days)


def defaults() -> dict[str, int]:
    return {s.name: s.default for s in SETTINGS}


def out_of_range(values: Mapping[str, object]) -> tuple[str, str] | None:
    """The first setting in ``values`` that is not a whole number in its range, as (name, message)."""
    for name, value in values.items():
        setting = BY_NAME.get(name)
        if setting is None:
            return name, f"{name} is not an agreement setting."
        if isinstance(value, bool) or not isinstance(value, int) or not setting.low <= value <= setting.high:
            return name, f"{setting.label} must be between {setting.low} and {setting.high} {setting.unit_text}."
    return None
