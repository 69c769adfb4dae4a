"""CSV renderings: the record (one row per leaf value of its JSON) and the sub-processor list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dpa_tracker.reports.csv_file import render_csv

RECORD_COLUMNS = ["path", "value", "record_version", "record_sha256", "audit_chain_head"]


def _join(values: list[str]) -> str:
    return "; ".join(values)


def _leaves(value: Any, path: str) -> Iterator[tuple[str, object]]:
    """Every leaf of the JSON record with its path (``activities[0].transfers[1].destination``); an empty list or
    object still gets a row, so the CSV shows that the field exists and is empty."""
    if isinstance(value, dict):
        if not value:
            yield path, ""
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        if not value:
            yield path, ""
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    elif isinstance(value, bool):
        yield path, "true" if value else "false"
    else:
        yield path, "" if value is None else value


def render_record_csv(
    record: dict[str, Any], version: int | None = None, content_sha256: str = "", audit_head: str = ""
) -> bytes:
    """The JSON record flattened: one row per leaf value, in the key order of the canonical JSON, so the CSV
    carries everything the JSON does. Each row names the version, its hash and the audit chain head at hand-out
    (``ID:HASH``, for ``flask audit verify --head``), so a row copied elsewhere still says where it came from."""
    copy = ["" if version is None else version, content_sha256, audit_head]
    return render_csv(RECORD_COLUMNS, ([path, value, *copy] for path, value in _leaves(record, "")))


SUBPROCESSOR_COLUMNS = [
    "legal_name",
    "country",
    "service",
    "locations",
    "contact_email",
    "dpo_name",
    "dpo_email",
    "authorised_since",
]


def render_subprocessors_csv(subprocessors: list[dict[str, Any]]) -> bytes:
    return render_csv(
        SUBPROCESSOR_COLUMNS,
        (
            [_join(sub[c]) if isinstance(sub[c], list) else sub[c] for c in SUBPROCESSOR_COLUMNS]
            for sub in subprocessors
        ),
    )
