"""Bulk import of agents and of training attestations from CSV (clause 5), all or nothing.

The whole file is validated before anything is written: the header must name exactly the columns of one of
the two formats; every row is checked (encoding, missing fields, dates, unknown agent, agreement or
sub-processor, duplicates within the file or with what is recorded). Any problem refuses the file with each
row number (the header is row 1) and reason. A good file is written in the caller's one transaction with one
audit event summarising it. Lookups are loaded once into dicts: no query per row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select

from dpa_tracker.audit.services import record
from dpa_tracker.dates import parse_date
from dpa_tracker.errors import DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Agent,
    AgentAssignment,
    AgentAttestation,
    Agreement,
    AttestationKind,
    EmployerKind,
    SubProcessor,
    User,
)
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import refresh_agent_obligations
from dpa_tracker.validation import is_single_line

AGENT_COLUMNS = ("name", "email", "role", "employer_kind", "employer", "agreements", "scope", "since_on")
TRAINING_COLUMNS = ("email", "trained_on", "course", "provider")
FORMATS = {"agents": AGENT_COLUMNS, "trainings": TRAINING_COLUMNS}
SHOWN_PROBLEMS = 50  # a file with thousands of bad rows is reported by its first problems and a count
MAX_ROWS = 100_000


class ImportRefused(DomainError):
    """The file was not imported; ``problems`` lists each bad row with its number and reason."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:SHOWN_PROBLEMS]
        more = f" (+{len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        super().__init__(
            f"Nothing was imported: {len(problems)} problem(s) in the file{more}. " + " | ".join(shown), field="file"
        )
        self.problems = problems


@dataclass
class ImportResult:
    kind: str
    rows: int
    agents: int = 0
    assignments: int = 0
    trainings: int = 0
    agreement_ids: set[int] = field(default_factory=set)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise ImportRefused(
            [f"row {row}: the file is not UTF-8 (byte 0x{data[error.start]:02X}); save it as CSV UTF-8"]
        ) from None


def _rows(text: str) -> tuple[str, list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused(["row 1: the file is empty; the first row must name the columns"]) from None
    except csv.Error as error:
        raise ImportRefused([f"row 1: not a readable CSV header ({error})"]) from None
    names = [h.strip().lower() for h in header]
    kind = next((k for k, cols in FORMATS.items() if sorted(cols) == sorted(names)), None)
    if kind is None:
        best = max(FORMATS, key=lambda k: len(set(FORMATS[k]) & set(names)))
        unknown = [n for n in names if n not in FORMATS[best]]
        missing = [c for c in FORMATS[best] if c not in names]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        parts = []
        if unknown:
            parts.append(f"unknown column(s): {', '.join(repr(n) for n in unknown)}")
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if duplicated:
            parts.append(f"repeated column(s): {', '.join(duplicated)}")
        raise ImportRefused(
            [
                f"row 1: wrong columns ({'; '.join(parts)}); an agents file has {', '.join(AGENT_COLUMNS)}; "
                f"a trainings file has {', '.join(TRAINING_COLUMNS)}"
            ]
        )
    rows, problems = [], []
    try:
        for values in reader:
            number = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(names):
                problems.append(f"row {number}: {len(values)} fields, the header has {len(names)}")
                continue
            rows.append((number, {n: v.strip() for n, v in zip(names, values, strict=True)}))
            if len(rows) > MAX_ROWS:
                raise ImportRefused([f"more than {MAX_ROWS} rows: split the file"])
    except csv.Error as error:
        problems.append(f"row {reader.line_num}: not readable as CSV ({error})")
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused(["the file has a header but no row to import"])
    return kind, names, rows


def _date(value: str, label: str, number: int, problems: list[str]) -> date | None:
    if not value:
        problems.append(f"row {number}: {label} is missing")
        return None
    day = parse_date(value)
    if day is None:
        problems.append(f"row {number}: {label} {value[:40]!r} is not a date written YYYY-MM-DD")
    return day


def _text_problems(number: int, row: dict[str, str], required: tuple[str, ...]) -> list[str]:
    problems = [f"row {number}: {name} is missing" for name in required if not row[name]]
    problems += [f"row {number}: {name} must be a single line" for name, v in row.items() if not is_single_line(v)]
    problems += [
        f"row {number}: {name} is longer than 200 characters"
        for name, v in row.items()
        if len(v) > 200 and name != "scope"
    ]
    return problems


def import_csv(actor: User | None, data: bytes, filename: str = "") -> ImportResult:
    """Validate the whole file, then import it (flush only; the caller commits once)."""
    kind, _, rows = _rows(_decode(data))
    result = _import_agents(actor, rows) if kind == "agents" else _import_trainings(actor, rows)
    record(
        actor,
        f"agent.import_{kind}",
        None,
        {
            "file": filename[:200] or None,
            "rows": result.rows,
            "agents": result.agents,
            "assignments": result.assignments,
            "trainings": result.trainings,
        },
    )
    refresh_agent_obligations(sorted(result.agreement_ids))
    return result


def _import_agents(actor: User | None, rows: list[tuple[int, dict[str, str]]]) -> ImportResult:
    known_emails = set(db.session.scalars(select(Agent.email).where(Agent.email.is_not(None))))
    agreements = {
        ref.casefold(): (aid, ref) for aid, ref in db.session.execute(select(Agreement.id, Agreement.reference))
    }
    subs = {name.casefold(): sid for sid, name in db.session.execute(select(SubProcessor.id, SubProcessor.legal_name))}
    problems: list[str] = []
    seen: dict[str, int] = {}
    planned = []
    for number, row in rows:
        problems += _text_problems(number, row, ("name", "role", "employer_kind"))
        email = row["email"].lower()
        if email:
            if "@" not in email or " " in email or "." not in email.rsplit("@", 1)[-1]:
                problems.append(f"row {number}: email {row['email'][:60]!r} is not an e-mail address")
            elif email in seen:
                problems.append(f"row {number}: duplicate of row {seen[email]} (same e-mail {email})")
            elif email in known_emails:
                problems.append(f"row {number}: an agent with the e-mail {email} is already recorded")
            seen.setdefault(email, number)
        try:
            employer_kind = EmployerKind(row["employer_kind"].lower()) if row["employer_kind"] else None
        except ValueError:
            employer_kind = None
            problems.append(
                f"row {number}: employer_kind {row['employer_kind'][:40]!r} is not one of "
                + ", ".join(k.value for k in EmployerKind)
            )
        sub_id = None
        if employer_kind is EmployerKind.SUBPROCESSOR:
            sub_id = subs.get(row["employer"].casefold())
            if sub_id is None:
                problems.append(f"row {number}: unknown sub-processor {row['employer'][:80]!r}")
        refs = [r.strip() for r in row["agreements"].split(";") if r.strip()]
        agreement_ids = []
        for ref in refs:
            found = agreements.get(ref.casefold())
            if found is None:
                problems.append(f"row {number}: unknown agreement {ref[:60]!r}")
            else:
                agreement_ids.append(found[0])
        if len(set(agreement_ids)) != len(agreement_ids):
            problems.append(f"row {number}: an agreement is listed twice")
        since_on = None
        if refs:
            if not row["scope"]:
                problems.append(f"row {number}: scope is missing (the access the agent has, clause 5.1)")
            since_on = _date(row["since_on"], "since_on", number, problems)
        planned.append((row, email or None, employer_kind, sub_id, agreement_ids, since_on))
    if problems:
        raise ImportRefused(problems)
    now = utcnow()
    actor_id = actor.id if actor else None
    # Bulk INSERT ... RETURNING in parameter order: the new ids line up with the planned rows.
    agent_ids = db.session.scalars(
        insert(Agent).returning(Agent.id, sort_by_parameter_order=True),
        [
            {
                "name": row["name"],
                "email": email,
                "function": row["role"],
                "employer_kind": employer_kind,
                "employer_name": "" if sub_id else row["employer"],
                "subprocessor_id": sub_id,
                "experience_note": "",
                "created_at": now,
                "created_by_id": actor_id,
            }
            for row, email, employer_kind, sub_id, _, _ in planned
        ],
    ).all()
    assignments = [
        {
            "agent_id": agent_id,
            "agreement_id": agreement_id,
            "scope": row["scope"],
            "since_on": since_on,
            "added_at": now,
            "added_by_id": actor_id,
        }
        for agent_id, (row, _, _, _, agreement_ids, since_on) in zip(agent_ids, planned, strict=True)
        for agreement_id in agreement_ids
    ]
    if assignments:
        db.session.execute(insert(AgentAssignment), assignments)
    result = ImportResult("agents", len(rows), agents=len(agent_ids), assignments=len(assignments))
    result.agreement_ids = {a["agreement_id"] for a in assignments}
    return result


def _import_trainings(actor: User | None, rows: list[tuple[int, dict[str, str]]]) -> ImportResult:
    agents = {
        email: aid for aid, email in db.session.execute(select(Agent.id, Agent.email).where(Agent.email.is_not(None)))
    }
    held = {
        (aid, day, course.casefold())
        for aid, day, course in db.session.execute(
            select(AgentAttestation.agent_id, AgentAttestation.done_on, AgentAttestation.course).where(
                AgentAttestation.kind == AttestationKind.TRAINING, AgentAttestation.withdrawn_at.is_(None)
            )
        )
    }
    today = utcnow().date()
    problems: list[str] = []
    seen: dict[tuple[int, date, str], int] = {}
    planned = []
    for number, row in rows:
        problems += _text_problems(number, row, ("email", "course", "provider"))
        email = row["email"].lower()
        agent_id = agents.get(email) if email else None
        if email and agent_id is None:
            problems.append(f"row {number}: unknown person {email!r} (no agent with this e-mail)")
        day = _date(row["trained_on"], "trained_on", number, problems)
        if day is not None and day > today:
            problems.append(f"row {number}: trained_on {day} is in the future")
        if agent_id is not None and day is not None and row["course"]:
            key = (agent_id, day, row["course"].casefold())
            if key in seen:
                problems.append(f"row {number}: duplicate of row {seen[key]} (same person, date and course)")
            elif key in held:
                problems.append(f"row {number}: this training of {email} on {day} is already recorded")
            seen.setdefault(key, number)
        planned.append((agent_id, day, row))
    if problems:
        raise ImportRefused(problems)
    now = utcnow()
    actor_id = actor.id if actor else None
    db.session.execute(
        insert(AgentAttestation),
        [
            {
                "agent_id": agent_id,
                "kind": AttestationKind.TRAINING,
                "done_on": day,
                "by_whom": "",
                "course": row["course"],
                "provider": row["provider"],
                "note": "imported from CSV",
                "recorded_at": now,
                "recorded_by_id": actor_id,
            }
            for agent_id, day, row in planned
        ],
    )
    agent_ids = sorted({agent_id for agent_id, _, _ in planned if agent_id is not None})  # all known after the check
    agreement_ids: set[int] = set()
    for start in range(0, len(agent_ids), 500):
        agreement_ids |= set(
            db.session.scalars(
                select(AgentAssignment.agreement_id).where(AgentAssignment.agent_id.in_(agent_ids[start : start + 500]))
            )
        )
    return ImportResult("trainings", len(rows), trainings=len(planned), agreement_ids=agreement_ids)
