"""Command line: ``flask --app dpa_tracker <command>``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from dpa_tracker.audit.services import verify_chain
from dpa_tracker.auth.services import create_token, create_user
from dpa_tracker.errors import DomainError
from dpa_tracker.evidence.services import evidence_store
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Client, Evidence, Role, User


def _fail(message: str) -> None:
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
def create_user_command(email: str, role: str, client_id: int | None, audited: tuple[int, ...], name: str,
                        password_stdin: bool) -> None:
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
        user = create_user(None, email, Role(role), password, name=name, client=client,
                           audited_clients=audited_clients)
    except DomainError as error:
        _fail(error.message)
    db.session.commit()
    click.echo(f"Created {user.role.value} user {user.email} (id {user.id}).")


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
@click.option("--credentials-file", type=click.Path(dir_okay=False, writable=True),
              help="Also write the sign-ins to this file (readable by its owner only).")
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
    """Re-hash every stored evidence file; exit 1 when one is missing or altered."""
    hashes = db.session.scalars(select(Evidence.sha256).where(Evidence.sha256.is_not(None)).distinct()).all()
    problems = list(evidence_store().verify(hashes))
    for problem in problems:
        click.echo(f"{problem.problem.upper()}: {problem.sha256} ({evidence_store().path_for(problem.sha256)})")
    if problems:
        raise click.ClickException(f"{len(problems)} of {len(hashes)} evidence file(s) missing or altered.")
    click.echo(f"All {len(hashes)} evidence file(s) match their SHA-256.")


@click.group("notices", cls=AppGroup)
def notices_group() -> None:
    """Sub-processor change notice commands."""


@notices_group.command("send")
def notices_send() -> None:
    """Send queued notice e-mails and retry failed ones (run it from cron); exit 1 if some failed in this run."""
    from dpa_tracker.subprocessor.notices import send_pending

    report = send_pending()
    click.echo(f"{report.sent} e-mail(s) sent, {report.failed + report.held} failed "
               f"({report.failed} retried by the next run, {report.held} held for an admin's retry).")
    if report.failed or report.held:
        raise click.ClickException("Some notices could not be delivered; see /notices/deliveries.")


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """Audit log commands."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Walk the hash chain; exit 1 when any row was altered, removed or inserted."""
    problems = list(verify_chain())
    for problem in problems:
        click.echo(f"event {problem.event_id}: {problem.problem}")
    if problems:
        raise click.ClickException(f"The audit log has {len(problems)} problem(s).")
    click.echo("The audit log chain is intact.")


def register_cli(app: Flask) -> None:
    for command in (init_db, create_user_command, create_token_command, seed_demo_command, sync_obligations_command,
                    evidence_group, audit_group, notices_group):
        app.cli.add_command(command)


