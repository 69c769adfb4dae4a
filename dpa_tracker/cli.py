"""Command line: ``flask --app dpa_tracker <command>``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import CompoundSelect, select, union

from dpa_tracker.audit.anchor import Anchor, anchor_problems, parse_anchor, parse_anchors, take_anchor
from dpa_tracker.audit.integrity import text_sha256
from dpa_tracker.audit.services import verify_chain
from dpa_tracker.auth.services import create_token, create_user, set_password
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    AgentAttestation,
    Agreement,
    Breach,
    Client,
    Evidence,
    NoticeDelivery,
    RecordVersion,
    Role,
    SupportingDocument,
    User,
)


def _fail(message: str) -> NoReturn:
    db.session.rollback()
    raise click.ClickException(message)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (applies every migration)."""
    upgrade()
    click.echo("Database is at the latest schema.")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--client", "client_id", type=int, help="Client id (required for --role client).")
@click.option("--audits", "audited", type=int, multiple=True, help="Client id an auditor reviews (repeatable).")
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(
    email: str, role: str, client_id: int | None, audited: tuple[int, ...], name: str, password_stdin: bool
) -> None:
    """Create a user; the password comes from a prompt or standard input, never an argument."""
    client = None
    if client_id is not None:
        client = db.session.get(Client, client_id)
        if client is None:
            _fail(f"No client with id {client_id}.")
    audited_clients = []
    for cid in audited:
        found = db.session.get(Client, cid)
        if found is None:
            _fail(f"No client with id {cid}.")
        audited_clients.append(found)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(None, email, Role(role), password, name=name, client=client, audited_clients=audited_clients)
    except DomainError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"Created {user.role.value} user {user.email} (id {user.id}).")


@click.command("set-password")
@with_appcontext
@click.argument("email")
def set_password_command(email: str) -> None:
    """Set a user's password and end their sessions; the password is read from standard input
    (one line) or prompted for on a terminal, never given as an argument."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        _fail(f"No user with e-mail {email}.")
    if sys.stdin.isatty():
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        set_password(None, user, password)
    except DomainError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"Password of {user.email} set; their sessions were ended.")


@click.command("create-token")
@with_appcontext
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
def create_token_command(email: str, name: str) -> None:
    """Create an API token for a user and print it once."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        _fail(f"No user with e-mail {email}.")
    try:
        _token, plain = create_token(None, user, name)
    except DomainError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(plain)
    click.echo("Store it now: it is shown only once.", err=True)


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has clients.")
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the sign-ins to this file (readable by its owner only).",
)
def seed_demo_command(if_empty: bool, credentials_file: str | None) -> None:
    """Load a realistic demo: the reference processor, its clients, agreements and evidence."""
    from dpa_tracker.demo import seed_demo

    if if_empty and db.session.scalar(select(Client.id).limit(1)) is not None:
        click.echo("Database already has data; demo not loaded.")
        if credentials_file and Path(credentials_file).is_file():
            click.echo("Demo sign-ins, from " + credentials_file + ":")
            click.echo(Path(credentials_file).read_text(encoding="utf-8").rstrip())
        return
    sign_ins = seed_demo()
    db.session.commit()
    lines = [f"  {role:<11} {email:<32} {password}" for email, role, password in sign_ins]
    click.echo("Demo loaded. Sign in with:")
    click.echo("\n".join(lines))
    if credentials_file:
        path = Path(credentials_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)


@click.group("obligations")
def obligations_group() -> None:
    """Obligations' cached statuses."""


@obligations_group.command("refresh")
@with_appcontext
def obligations_refresh() -> None:
    """Recompute every obligation's cached status projection and store today's dashboard counts (run daily from
    cron, after midnight: a status can change with the date alone)."""
    from dpa_tracker.dashboard.counts import store_counts
    from dpa_tracker.obligation.services import refresh_all

    total, changed = refresh_all()
    store_counts()
    db.session.commit()
    click.echo(f"{total} obligation(s) checked, {changed} changed.")


@obligations_group.command("snapshot")
@with_appcontext
def obligations_snapshot() -> None:
    """Store the status counts of every past month end of the last 12 that has none yet (run daily from cron)."""
    from dpa_tracker.dashboard.trend import take_snapshots
    from dpa_tracker.obligation.services import today

    taken = take_snapshots(today())
    db.session.commit()
    click.echo(
        f"{len(taken)} month end(s) stored" + (f": {', '.join(d.isoformat() for d in taken)}." if taken else ".")
    )


@click.command("sync-obligations")
@with_appcontext
def sync_obligations_command() -> None:
    """Add obligations for clauses that templates gained since agreements were created."""
    from dpa_tracker.agreement.services import sync_obligations

    total = 0
    for agreement in db.session.scalars(select(Agreement).order_by(Agreement.id)):
        total += len(sync_obligations(None, agreement))
    db.session.commit()
    click.echo(f"{total} obligation(s) added.")


@click.group("evidence", cls=AppGroup)
def evidence_group() -> None:
    """Evidence store commands."""


@evidence_group.command("verify")
def evidence_verify() -> None:
    """Re-hash every stored file (evidence, supporting documents, sent notices) and every record version's
    content; report stale upload temp files; exit 1 when a file is missing or altered or a version changed."""
    store = evidence_store()
    hashes: CompoundSelect[tuple[str]] = union(  # the WHEREs leave out the NULLs
        select(Evidence.sha256).where(Evidence.sha256.is_not(None)),
        select(SupportingDocument.sha256),
        select(AgentAttestation.sha256).where(AgentAttestation.sha256.is_not(None)),
        select(NoticeDelivery.message_sha256).where(NoticeDelivery.message_sha256.is_not(None)),
        select(Breach.source_notice_sha256).where(Breach.source_notice_sha256.is_not(None)),
    )
    stored = db.session.scalars(hashes).all()
    files, problems = len(stored), 0
    for problem in store.verify(stored):
        problems += 1
        click.echo(f"{problem.problem.upper()}: {problem.sha256} ({store.path_for(problem.sha256)})")
    versions = 0
    for version in record_versions_by_batch():
        versions += 1
        if text_sha256(version.content) != version.content_sha256:
            problems += 1
            click.echo(
                f"ALTERED: record version {version.number} of client {version.client_id} "
                f"(id {version.id}): its content does not match its SHA-256"
            )
    stale = store.stale_temp_files(current_app.config["UPLOAD_TEMP_MAX_AGE"])
    for path in stale:
        click.echo(f"STALE TEMP FILE: {path} ({path.stat().st_size} bytes), left by an interrupted upload")
    if stale:
        click.echo(f"{len(stale)} stale upload temp file(s); the next start-up removes them.")
    if problems:
        raise click.ClickException(
            f"{problems} of {files} stored file(s) and {versions} record version(s) missing or altered."
        )
    click.echo(f"All {files} stored file(s) and {versions} record version(s) match their SHA-256.")


def record_versions_by_batch(batch_size: int = 50) -> Iterator[RecordVersion]:
    """Every record version in id order, a few at a time (each holds a whole record)."""
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(RecordVersion).where(RecordVersion.id > last_id).order_by(RecordVersion.id).limit(batch_size)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        db.session.expunge_all()


@click.group("notices", cls=AppGroup)
def notices_group() -> None:
    """Sub-processor change notice commands."""


@notices_group.command("send")
def notices_send() -> None:
    """Send queued notice e-mails (sub-processor change notices, breach notices, forwarded data-subject requests
    and unlawful-instruction notices) and retry failed ones (run it from cron); exit 1 if some failed in this run."""
    from dpa_tracker.breach.notices import send_pending as send_breach_notices
    from dpa_tracker.dsr.notices import send_pending as send_request_notices
    from dpa_tracker.outbox import SendReport
    from dpa_tracker.subprocessor.notices import send_pending

    if not current_app.config.get("MAIL_SERVER"):
        # Never guess a server (the demo's addresses, a development machine's local MTA): mail waits.
        raise click.ClickException(
            "No SMTP server is configured (set DPA_MAIL_SERVER and DPA_MAIL_PORT); queued e-mails stay queued."
        )
    runs = (send_pending(), send_breach_notices(), send_request_notices())
    report = SendReport(sum(r.sent for r in runs), sum(r.failed for r in runs), sum(r.held for r in runs))
    click.echo(
        f"{report.sent} e-mail(s) sent, {report.failed + report.held} failed "
        f"({report.failed} retried by the next run, {report.held} held for an admin's retry)."
    )
    if report.failed or report.held:
        raise click.ClickException(
            "Some notices could not be delivered (change notices or breach notices); see and retry them on "
            "/notices/deliveries (Failed e-mails)."
        )


@click.group("reminders", cls=AppGroup)
def reminders_group() -> None:
    """Deadline reminder commands."""


@reminders_group.command("send")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="At most this many digests sent in this run (the rest wait for the next run).",
)
def reminders_send(limit: int) -> None:
    """Queue, for each owner, one digest of the deadlines that became due soon or overdue since the last run,
    then send the queued and failed digests (run it from cron); exit 1 if some could not be sent."""
    from dpa_tracker.deadline.reminders import queue_digests, send_pending

    if not current_app.config.get("MAIL_SERVER"):
        raise click.ClickException(
            "No SMTP server is configured (set DPA_MAIL_SERVER and DPA_MAIL_PORT); nothing was queued or sent."
        )
    queued = queue_digests()
    report = send_pending(limit)
    click.echo(
        f"{queued.digests} digest(s) queued ({queued.items} deadline(s)); {report.sent} sent, "
        f"{report.failed + report.held} failed ({report.failed} retried by the next run, {report.held} held)."
    )
    if report.failed or report.held:
        raise click.ClickException(
            "Some reminder digests could not be sent; they stay queued and the next run retries them."
        )


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """Audit log commands."""


@audit_group.command("verify")
@click.option(
    "--anchor",
    "anchor_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="An anchor file from `audit anchor` (one anchor, or one per line); repeatable.",
)
@click.option(
    "--head", "heads", multiple=True, metavar="ID:HASH", help="A chain head as printed on a record copy; repeatable."
)
def audit_verify(anchor_files: tuple[str, ...], heads: tuple[str, ...]) -> None:
    """Walk the hash chain and check every row and file its events recorded; with anchors, check the log still
    ends no earlier than them and still holds their hashes. Exit 1 on any problem."""
    anchors: list[tuple[str, Anchor]] = []
    try:
        for name in anchor_files:
            anchors += [(name, a) for a in parse_anchors(Path(name).read_text(encoding="utf-8"), name)]
        anchors += [(head, parse_anchor(head, head)) for head in heads]
    except DomainError as error:
        _fail(error.message)
    problems = 0
    for problem in verify_chain(store=evidence_store()):
        problems += 1
        click.echo(f"event {problem.event_id}: {problem.problem}")
    for source, anchor in anchors:
        for message in anchor_problems(anchor):
            problems += 1
            click.echo(f"anchor {source}: {message}")
    if problems:
        raise click.ClickException(f"The audit log has {problems} problem(s).")
    click.echo(
        "The audit log chain is intact and every row and file its events recorded matches"
        + (f"; {len(anchors)} anchor(s) hold." if anchors else ".")
    )


@audit_group.command("anchor")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the anchor to this file; keep a copy off this server.",
)
def audit_anchor(output: str | None) -> None:
    """Print the chain head (event id, hash, number of events, time) as JSON, for `audit verify --anchor`."""
    try:
        anchor = take_anchor()
    except DomainError as error:
        _fail(error.message)
    if output:
        Path(output).write_text(anchor.as_json() + "\n", encoding="utf-8")
    click.echo(anchor.as_json())


@click.group("agents", cls=AppGroup)
def agents_group() -> None:
    """Agents (clause 5): bulk import of agents and training attestations."""


@agents_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def agents_import(path: str) -> None:
    """Import a CSV file of agents or of trainings: all rows, or nothing if any row is bad."""
    from pathlib import Path

    from dpa_tracker.agent.imports import ImportRefused, import_csv

    try:
        result = import_csv(None, Path(path).read_bytes(), Path(path).name)
    except ImportRefused as refused:
        db.session.rollback()
        click.echo(f"Nothing was imported: {len(refused.problems)} problem(s).", err=True)
        for problem in refused.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(
        f"Imported {result.rows} row(s): {result.agents} agent(s), {result.assignments} assignment(s), "
        f"{result.trainings} training(s)."
    )


def register_cli(app: Flask) -> None:
    for command in (
        init_db,
        create_user_command,
        create_token_command,
        seed_demo_command,
        sync_obligations_command,
        evidence_group,
        audit_group,
        notices_group,
        reminders_group,
        set_password_command,
        obligations_group,
        agents_group,
    ):
        app.cli.add_command(command)
