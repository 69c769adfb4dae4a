"""Test data built through the services, committed, and returned as ids/objects."""

from __future__ import annotations

import itertools
from datetime import date

from dpa_tracker.agreement.services import AgreementInput, create_agreement
from dpa_tracker.agreement.settings import NAMES as SETTING_NAMES
from dpa_tracker.agreement.settings import SETTINGS
from dpa_tracker.auth.services import create_user
from dpa_tracker.catalogue import DEFAULT_TEMPLATE, get_template
from dpa_tracker.client.services import ClientInput, create_client
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, Client, Role, User
from tests.support import PASSWORD

_seq = itertools.count(1)


def make_client(name: str | None = None, **kwargs: object) -> Client:
    n = next(_seq)
    client = create_client(
        None,
        ClientInput(
            legal_name=name or f"Client {n}",
            country=str(kwargs.pop("country", "DZ")),
            notice_emails=list(kwargs.pop("notice_emails", [f"notice{n}@client{n}.example"])),  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        ),
    )
    db.session.commit()
    return client


def make_user(
    role: Role | str,
    email: str | None = None,
    client: Client | None = None,
    audits: list[Client] | None = None,
    password: str = PASSWORD,
) -> User:
    role = Role(role)
    user = create_user(
        None,
        email or f"{role.value}{next(_seq)}@example.com",
        role,
        password,
        client=client,
        audited_clients=audits or [],
    )
    db.session.commit()
    return user


def make_agreement(client: Client, actor: User | None = None, **kwargs: object) -> Agreement:
    if actor is None:
        actor = make_user(Role.COMPLIANCE)
    n = next(_seq)
    settings = {name: int(kwargs.pop(name)) for name in list(kwargs) if name in SETTING_NAMES}  # type: ignore[call-overload]
    data = AgreementInput(
        settings=settings,
        reference=str(kwargs.pop("reference", f"DPA-{n:04d}")),
        title=str(kwargs.pop("title", f"Agreement {n}")),
        signed_on=kwargs.pop("signed_on", date(2026, 1, 1)),  # type: ignore[arg-type]
        effective_on=kwargs.pop("effective_on", date(2026, 1, 1)),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
    agreement = create_agreement(actor, client, data)
    db.session.commit()
    return agreement


# Every deadline setting at its default (agreement/settings.py), as the settings page sends it.
AGREEMENT_SETTINGS_FORM = {setting.name: str(setting.default) for setting in SETTINGS}

# A valid "new agreement" form (the page's field names), for tests that go through the pages.
# Obligations an agreement of the default template gets: one per clause (never a number typed in a test).
CLAUSE_COUNT = len(get_template(DEFAULT_TEMPLATE).clauses)
# The default template's clauses by number, for tests that need a clause's rule (its grace days, its period...).
CLAUSES = {clause.number: clause for clause in get_template(DEFAULT_TEMPLATE).clauses}

AGREEMENT_FORM = {
    "reference": "DPA-2026-01",
    "title": "Hosting DPA",
    "template_key": "altinsoft-dpa",
    "status": "active",
    "signed_on": "2026-01-01",
    "effective_on": "2026-01-01",
    **AGREEMENT_SETTINGS_FORM,
}
