"""The agent register's rows as the CSV and PDF reports take them."""

from __future__ import annotations

from datetime import date
from typing import Any

from dpa_tracker.agent.services import AgentRow
from dpa_tracker.models import AttestationKind
from dpa_tracker.reports.agent_register import render_agent_register_csv, render_agent_register_pdf


def _latest(row: AgentRow, kind: AttestationKind, as_of: date) -> str:
    days = [a.done_on for a in row.agent.attestations if a.kind is kind and a.counts_on(as_of) and a.done_on <= as_of]
    return str(max(days)) if days else ""


def register_data(rows: list[AgentRow], as_of: date) -> list[dict[str, Any]]:
    return [
        {
            "name": row.agent.name,
            "email": row.agent.email or "",
            "function": row.agent.function,
            "employer": f"{row.agent.employer_kind.value}: {row.agent.employer}",
            "agreements": "\n".join(
                f"{a.agreement.reference} (since {a.since_on}): {a.scope}" for a in row.assignments
            ),
            "designated_on": _latest(row, AttestationKind.DESIGNATION, as_of),
            "committed_on": _latest(row, AttestationKind.COMMITMENT, as_of),
            "trained_on": _latest(row, AttestationKind.TRAINING, as_of),
            "training_expires_on": str(row.status.training_expires_on or ""),
            "mission_ends_on": str(row.agent.mission_ends_on or ""),
            "access_removed_at": row.agent.access_removed_at.strftime("%Y-%m-%d %H:%M UTC")
            if row.agent.access_removed_at
            else "",
            "authorised": "yes" if row.status.authorised else "no",
            "missing": "; ".join(row.status.missing),
        }
        for row in rows
    ]


def register_csv(rows: list[AgentRow], as_of: date) -> bytes:
    return render_agent_register_csv(register_data(rows, as_of))


def register_pdf(rows: list[AgentRow], as_of: date, scope: str = "every agent you may see") -> bytes:
    return render_agent_register_pdf(register_data(rows, as_of), str(as_of), scope)
