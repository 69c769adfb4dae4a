"""CSV renderings: the record (one row per activity) and the sub-processor list."""

from __future__ import annotations

from typing import Any

from dpa_tracker.reports.csv_file import render_csv

RECORD_COLUMNS = [
    "record_as_of", "processor", "processor_contact", "processor_dpo", "client", "client_contact", "client_dpo",
    "client_representative", "activity", "processing_categories", "data_subject_categories",
    "personal_data_categories", "special_categories", "purposes", "retention", "locations", "subprocessors",
    "transfers", "security_measures", "record_version", "record_sha256", "audit_chain_head",
]


def _join(values: list[str]) -> str:
    return "; ".join(values)


def render_record_csv(record: dict[str, Any], version: int | None = None, content_sha256: str = "",
                      audit_head: str = "") -> bytes:
    """One row per activity; each row names the
    version, its hash and the audit chain head at hand-out (``ID:HASH``, for ``flask audit verify --head``)."""
    processor = record["processor"] or {}
    client = record["client"]
    measures = {m["id"]: m for m in record["security_measures"]}
    rows: list[list[object]] = []
    for activity in record["activities"]:
        rows.append([
            record["as_of"],
            processor.get("name", ""),
            _join([v for v in (processor.get("contact_email"), processor.get("contact_phone")) if v]),
            _join([v for v in (processor.get("dpo_name"), processor.get("dpo_email")) if v]),
            client["legal_name"],
            _join(client["contact_emails"]),
            _join([v for v in (client["dpo_name"], client["dpo_email"]) if v]),
            client["representative"],
            activity["name"],
            _join(activity["processing_categories"]),
            _join(activity["data_subject_categories"]),
            _join(activity["personal_data_categories"]),
            _join(activity["special_categories"]),
            activity["purposes"],
            activity["retention"],
            _join([f"{loc['country']} {loc['site']}".strip() for loc in activity["locations"]]),
            _join([f"{s['legal_name']} ({s['country']}, {s['service']})" for s in activity["subprocessors"]]),
            _join([
                f"{t['destination']} → {t['recipient']}: {t['mechanism_title']}"
                + (f" [safeguards: {', '.join(d['sha256'][:12] for d in t['safeguards_documents'])}]"
                   if t["safeguards_documents"] else "")
                for t in activity["transfers"]
            ]),
            _join([f"{measures[i]['heading_title']}: {measures[i]['title']}" for i in activity["security_measure_ids"]
                   if i in measures]),
            "" if version is None else version,
            content_sha256,
            audit_head,
        ])
    return render_csv(RECORD_COLUMNS, rows)


SUBPROCESSOR_COLUMNS = ["legal_name", "country", "service", "locations", "contact_email", "dpo_name", "dpo_email",
                        "authorised_since"]


def render_subprocessors_csv(subprocessors: list[dict[str, Any]]) -> bytes:
    return render_csv(SUBPROCESSOR_COLUMNS, (
        [_join(sub[c]) if isinstance(sub[c], list) else sub[c] for c in SUBPROCESSOR_COLUMNS] for sub in subprocessors))
