"""The deletion certificate (clause 13; EU SCC 2021/915 ask for one): what was deleted where, when and by whom,
the retention exceptions with their legal basis, each sub-processor's confirmation with its SHA-256.

Data in (``deletion.services.certificate_data``), bytes out; built with the record PDF kit. A file cannot hold its
own hash: the certificate states the SHA-256 of its content (``fingerprint``) and the page that offers it shows
the SHA-256 of the PDF as issued."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import cm
from reportlab.platypus import Flowable, Spacer

from dpa_tracker.reports.checklist_pdf import _cell  # cuts a hash wider than its column
from dpa_tracker.reports.record_pdf import (
    BODY_W,
    EMPTY,
    VALUE_W,
    _heading,
    _join_nonempty,
    _kv,
    _para,
    _render,
    _table,
)

TITLE = "Deletion certificate"
TASK_W = [3.6 * cm, BODY_W - 10.6 * cm, 2.2 * cm, 4.8 * cm]
EXCEPTION_W = [BODY_W - 9.6 * cm, 6.8 * cm, 2.8 * cm]
CONFIRMATION_W = [4.5 * cm, 4.5 * cm, BODY_W - 9.0 * cm]


def render_deletion_certificate(data: dict[str, Any]) -> bytes:
    agreement = data["agreement"]
    story: list[Flowable] = [
        _heading(TITLE, "title", None, "cover"),
        _kv(
            [
                ("Agreement", _cell(f"{agreement['reference']} — {agreement['title']}", VALUE_W)),
                ("Controller (client)", _cell(data["client"], VALUE_W)),
                ("Processor", _cell(data["processor"], VALUE_W)),
                ("Agreement ended", _cell(f"{data['ends_on']} ({data['end_kind']})", VALUE_W)),
                ("Deletion due", _cell(data["due_on"], VALUE_W)),
                ("Client's choice", _cell(data["choice"], VALUE_W)),
                ("Issued", _cell(f"{data['issued_at']} by {data['issued_by']}", VALUE_W)),
                ("Content SHA-256", _cell(data["fingerprint"], VALUE_W)),
            ]
        ),
        Spacer(1, 10),
        _para(
            "The processor certifies that, following the end of the agreement, the client's personal data was "
            "deleted (or returned, then its copies deleted) from every place listed below, on the dates stated, "
            "except the data listed under the retention exceptions, which a law requires it to keep.",
            "body",
        ),
        _heading("Places deleted", "h1", None, "places"),
    ]
    rows: list[list[Any]] = [["What", "Place", "Done on", "By whom / how"]]
    for t in data["tasks"]:
        rows.append(
            [
                _cell(t["kind"], TASK_W[0]),
                _cell(t["place"], TASK_W[1]),
                _cell(t["done_on"] or EMPTY, TASK_W[2]),
                _cell(_join_nonempty(t["done_by"], t["method"], sep="\n"), TASK_W[3]),
            ]
        )
    story.append(_table(rows, TASK_W, header=True))
    story.append(_heading("Retention exceptions", "h1", None, "exceptions"))
    if data["exceptions"]:
        rows = [["Data kept", "Legal basis", "Kept until"]]
        rows += [
            [
                _cell(e["what"], EXCEPTION_W[0]),
                _cell(e["legal_basis"], EXCEPTION_W[1]),
                _cell(e["until_on"], EXCEPTION_W[2]),
            ]
            for e in data["exceptions"]
        ]
        story.append(_table(rows, EXCEPTION_W, header=True))
    else:
        story.append(_para("None: no data is kept after the deletion.", "body"))
    story.append(_heading("Sub-processors' confirmations", "h1", None, "confirmations"))
    confirmations = [t for t in data["tasks"] if t["subprocessor"]]
    if confirmations:
        rows = [["Sub-processor", "Confirmation file", "SHA-256"]]
        rows += [
            [
                _cell(t["place"], CONFIRMATION_W[0]),
                _cell(t["filename"] or EMPTY, CONFIRMATION_W[1]),
                _cell(t["sha256"] or EMPTY, CONFIRMATION_W[2]),
            ]
            for t in confirmations
        ]
        story.append(_table(rows, CONFIRMATION_W, header=True))
    else:
        story.append(_para("No sub-processor was authorised on the agreement when it ended.", "body"))
    subject = _join_nonempty(data["client"], agreement["reference"], f"ended {data['ends_on']}")

    def footer(page: int, total: int) -> tuple[str, str]:
        return f"{TITLE} — {subject}", f"Content SHA-256 {data['fingerprint']}"

    return _render(story, TITLE, subject, footer)
