"""A kept record version as a file: its bytes in each format and the download response."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from dpa_tracker.models import Client, RecordVersion
from dpa_tracker.reports.record_csv import render_record_csv
from dpa_tracker.reports.record_pdf import render_record_pdf

# Werkzeug adds "; charset=utf-8" to text/* types itself.
MIMETYPES = {"pdf": "application/pdf", "json": "application/json", "csv": "text/csv"}


def render_record(data: dict[str, Any], fmt: str, number: int, sha256: str, audit_head: str | None = None) -> bytes:
    """``audit_head`` is the audit chain head at hand-out as ``ID:HASH``; every format shows it."""
    if fmt == "json":
        head = None
        if audit_head:
            event_id, _, head_hash = audit_head.partition(":")
            head = {"event_id": int(event_id), "hash": head_hash}
        return json.dumps(
            {"version": number, "sha256": sha256, "audit_head": head, "record": data},
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
        ).encode("utf-8")
    if fmt == "csv":
        return render_record_csv(data, number, sha256, audit_head or "")
    return render_record_pdf(data, number, sha256, audit_head)


def record_response(client: Client, data: dict[str, Any], fmt: str, version: RecordVersion) -> Response:
    audit_head = f"{version.audit_head_id}:{version.audit_head_hash}" if version.audit_head_hash else None
    body = render_record(data, fmt, version.number, version.content_sha256, audit_head)
    safe_name = "".join(ch if ch.isalnum() else "-" for ch in client.legal_name.encode("ascii", "ignore").decode())
    name = f"record-{safe_name.strip('-') or client.id}-v{version.number}-{version.as_of}.{fmt}"
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Record-Version"] = str(version.number)
    response.headers["X-Record-SHA256"] = version.content_sha256
    if audit_head:
        response.headers["X-Audit-Head"] = audit_head
    return response
