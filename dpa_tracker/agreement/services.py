"""Creating agreements, generating their obligations and changing their terms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from dpa_tracker.agreement.settings import SETTINGS, defaults, out_of_range
from dpa_tracker.audit.services import record
from dpa_tracker.catalogue import DEFAULT_TEMPLATE, CatalogueError, get_template
from dpa_tracker.dates import check_date
from dpa_tracker.errors import Conflict, DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Agreement, AgreementStatus, Client, Obligation, User
from dpa_tracker.models.agreement import AuthorisationType
from dpa_tracker.obligation.services import refresh_cache
from dpa_tracker.validation import check_lines, line


@dataclass(frozen=True)
class AgreementInput:
    reference: str = line("Reference")
    title: str = line("Title")
    # line() is dataclasses.field() without a default, but mypy only knows field() itself as one.
    signed_on: date  # type: ignore[misc]
    effective_on: date  # type: ignore[misc]  # as signed_on above
    ends_on: date | None = None
    status: AgreementStatus = AgreementStatus.ACTIVE
    template_key: str = line("Clause template", default=DEFAULT_TEMPLATE)
    settings: Mapping[str, int] = field(default_factory=dict)  # agreement/settings.py; missing ones take the default
    subprocessor_authorisation: AuthorisationType = AuthorisationType.GENERAL
    permitted_locations: list[str] = line("Permitted location", default_factory=list)


def _validate(data: AgreementInput) -> None:
    check_lines(data)
    if not data.reference.strip():
        raise DomainError("The reference is required.", field="reference")
    if not data.title.strip():
        raise DomainError("The title is required.", field="title")
    for name in ("signed_on", "effective_on", "ends_on"):
        check_date(getattr(data, name), name)
    if data.effective_on < data.signed_on:
        raise DomainError("An agreement cannot take effect before it is signed.", field="effective_on")
    if data.ends_on is not None and data.ends_on < data.effective_on:
        raise DomainError("The end date is before the effective date.", field="ends_on")
    _check_settings(data.settings)


def _check_settings(values: Mapping[str, object]) -> None:
    wrong = out_of_range(values)
    if wrong is not None:
        raise DomainError(wrong[1], field=wrong[0])


def create_agreement(actor: User, client: Client, data: AgreementInput) -> Agreement:
    """Create the agreement and one obligation per binding clause of its template."""
    _validate(data)
    try:
        template = get_template(data.template_key)
    except CatalogueError as exc:
        raise DomainError(str(exc), field="template_key") from None
    reference = data.reference.strip()
    if db.session.scalar(select(Agreement.id).where(Agreement.reference == reference)) is not None:
        raise Conflict(f"An agreement with reference {reference!r} already exists.", field="reference")
    agreement = Agreement(
        client=client,
        reference=reference,
        title=data.title.strip(),
        signed_on=data.signed_on,
        effective_on=data.effective_on,
        ends_on=data.ends_on,
        status=data.status,
        template_key=template.key,
        template_version=template.version,
        **{**defaults(), **data.settings},
        subprocessor_authorisation=AuthorisationType(data.subprocessor_authorisation),
        permitted_locations="\n".join(loc.strip() for loc in data.permitted_locations if loc.strip()),
    )
    db.session.add(agreement)
    db.session.flush()
    record(
        actor,
        "agreement.create",
        agreement,
        {
            "reference": agreement.reference,
            "title": agreement.title,
            "template": f"{template.key} v{template.version}",
            "signed_on": agreement.signed_on,
            "effective_on": agreement.effective_on,
            "ends_on": agreement.ends_on,
            "subprocessor_authorisation": agreement.subprocessor_authorisation.value,
            "settings": {s.name: getattr(agreement, s.name) for s in SETTINGS},
        },
        client_id=client.id,
    )
    sync_obligations(actor, agreement, owner=actor if actor.can_write else None)
    return agreement


def sync_obligations(actor: User | None, agreement: Agreement, owner: User | None = None) -> list[Obligation]:
    """Add an obligation for every clause of the template the agreement does not have yet."""
    template = get_template(agreement.template_key)
    existing = set(db.session.scalars(select(Obligation.clause_number).where(Obligation.agreement_id == agreement.id)))
    added = []
    for position, clause in enumerate(template.clauses):
        if clause.number in existing:
            continue
        obligation = Obligation(
            agreement=agreement,
            clause_number=clause.number,
            position=position,
            section=clause.section,
            title=clause.title,
            summary=clause.summary,
            gdpr_article=clause.gdpr,
            rule=dict(clause.rule),
            owner=owner,
            evidence=[],
            events=[],
        )
        db.session.add(obligation)
        added.append(obligation)
    if added:
        db.session.flush()
        refresh_cache(added)
        record(
            actor,
            "agreement.sync_obligations",
            agreement,
            {"added": [o.clause_number for o in added], "template_version": template.version},
            client_id=agreement.client_id,
        )
        agreement.template_version = template.version
    return added


def end_agreement(actor: User, agreement: Agreement, ends_on: date) -> None:
    """Record the end of the agreement; clause 13 and 2.2 clocks start from this date."""
    if agreement.status is AgreementStatus.TERMINATED:
        raise DomainError("This agreement has already ended.")
    check_date(ends_on, "ends_on")
    if ends_on < agreement.effective_on:
        raise DomainError("The end date is before the effective date.", field="ends_on")
    before = agreement.ends_on
    agreement.ends_on = ends_on
    agreement.status = AgreementStatus.TERMINATED
    db.session.flush()
    refresh_cache(agreement.obligations)
    record(
        actor,
        "agreement.end",
        agreement,
        {"ends_on": [before, ends_on], "status": "terminated"},
        client_id=agreement.client_id,
    )


def change_settings(actor: User, agreement: Agreement, values: Mapping[str, int]) -> dict[str, list[int]]:
    """Change some of the agreement's deadline settings; the clocks of its obligations follow at once."""
    _check_settings(values)
    changes = {
        name: [getattr(agreement, name), value] for name, value in values.items() if getattr(agreement, name) != value
    }
    if not changes:
        return changes
    for name, (_before, after) in changes.items():
        setattr(agreement, name, after)
    db.session.flush()
    refresh_cache(agreement.obligations)
    record(actor, "agreement.settings", agreement, changes, client_id=agreement.client_id)
    return changes
