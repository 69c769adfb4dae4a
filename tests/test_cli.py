"""The command line: creating users and tokens, loading the demo, initialising the schema."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select, text

from dpa_tracker.extensions import db
from dpa_tracker.models import ApiToken, Role, User
from tests.factories import make_client, make_user
from tests.support import PASSWORD, make_app


def invoke(app, runner, *args, input=None):
    with app.app_context():  # the test runner pushes none for commands added with add_command
        return runner.invoke(args=list(args), input=input)


def users(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(User.email)))


def test_create_user_reads_the_password_from_stdin(app, client, runner, auth):
    with app.app_context():
        acme_id = make_client("Acme Hosting").id
    result = invoke(
        app,
        runner,
        "create-user",
        "Anna@Acme.example",
        "--role",
        "client",
        "--client",
        str(acme_id),
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created client user anna@acme.example" in result.output
    assert PASSWORD not in result.output
    assert auth.login("anna@acme.example").status_code == 302


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "superuser"], PASSWORD, "Invalid value for '--role'"),
        (["--role", "client", "--client", "999"], PASSWORD, "No client with id 999."),
        (["--role", "compliance"], "short", "12"),
    ],
    ids=["bad role", "unknown client", "short password"],
)
def test_create_user_refusals_create_nobody(app, runner, args, password, message):
    result = invoke(app, runner, "create-user", "x@example.com", *args, "--password-stdin", input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert users(app) == []


def test_create_token_prints_it_once_and_stores_only_its_hash(app, runner):
    with app.app_context():
        make_user(Role.COMPLIANCE, "karim@example.com")
    result = invoke(app, runner, "create-token", "karim@example.com", "--name", "CI")
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip().splitlines()[0]
    assert len(plain) > 30
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
        with db.engine.connect() as conn:
            stored = " ".join(str(value) for row in conn.execute(text("SELECT * FROM api_token")) for value in row)
    assert plain not in stored


def test_create_token_for_unknown_user_fails(app, runner):
    result = invoke(app, runner, "create-token", "nobody@example.com")
    assert result.exit_code != 0
    assert "No user with e-mail nobody@example.com." in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


@pytest.mark.slow
def test_seed_demo_leaves_an_intact_audit_chain(app, runner):
    result = invoke(app, runner, "seed-demo")
    assert result.exit_code == 0, result.output
    assert "Demo loaded" in result.output
    verified = invoke(app, runner, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output
    again = invoke(app, runner, "seed-demo", "--if-empty")
    assert again.exit_code == 0
    assert "demo not loaded" in again.output


def test_init_db_can_run_twice(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)
    runner = app.test_cli_runner()
    for _ in range(2):
        result = invoke(app, runner, "init-db")
        assert result.exit_code == 0, result.output
        assert "latest schema" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        db.session.remove()
        db.engine.dispose()
