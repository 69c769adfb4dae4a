"""Creating and updating clients and the processor profile."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from dpa_tracker.audit.services import record
from dpa_tracker.errors import Conflict, DomainError
from dpa_tracker.extensions import db
from dpa_tracker.models import Client, ProcessorProfile, User
from dpa_tracker.validation import check_lines, line
from dpa_tracker.workdays import WorkCalendar, calendar_for


@dataclass(frozen=True)
class ClientInput:
    legal_name: str = line("Legal name")
    country: str = line("Country")
    address: str = ""
    notice_emails: list[str] = line("Notice e-mail address", default_factory=list)
    dpo_name: str = line("DPO name", default="")
    dpo_email: str = line("DPO e-mail", default="")
    representative: str = line("Representative", default="")
    representative_contact: str = line("Representative's contact details", default="")


def check_email(value: str, field_name: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise DomainError(f"{value!r} is not a valid e-mail address: {exc}", field=field_name) from None


def _clean(data: ClientInput) -> dict[str, str]:
    check_lines(data)
    name = data.legal_name.strip()
    if not name:
        raise DomainError("The legal name is required.", field="legal_name")
    country = data.country.strip().upper()
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise DomainError("The country must be a two-letter ISO code such as DZ or FR.", field="country")
    emails = [check_email(e, "notice_emails") for e in data.notice_emails if e.strip()]
    if not emails:
        raise DomainError("At least one notice e-mail address is needed (clause 8.1).", field="notice_emails")
    return {
        "legal_name": name,
        "country": country,
        "address": data.address.strip(),
        "notice_emails": "\n".join(emails),
        "dpo_name": data.dpo_name.strip(),
        "dpo_email": check_email(data.dpo_email, "dpo_email") if data.dpo_email.strip() else "",
        "representative": data.representative.strip(),
        "representative_contact": data.representative_contact.strip(),
    }


def _ensure_unique_name(name: str, exclude_id: int | None = None) -> None:
    stmt = select(Client.id).where(func.lower(Client.legal_name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Client.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(f"A client named {name!r} already exists.", field="legal_name")


def create_client(actor: User | None, data: ClientInput) -> Client:
    values = _clean(data)
    _ensure_unique_name(values["legal_name"])
    client = Client(**values)
    db.session.add(client)
    db.session.flush()
    record(actor, "client.create", client, values, client_id=client.id)
    return client


def update_client(actor: User, client: Client, data: ClientInput) -> None:
    values = _clean(data)
    _ensure_unique_name(values["legal_name"], exclude_id=client.id)
    changes = {}
    for key, value in values.items():
        if getattr(client, key) != value:
            changes[key] = [getattr(client, key), value]
            setattr(client, key, value)
    if changes:
        db.session.flush()
        record(actor, "client.update", client, changes, client_id=client.id)


@dataclass(frozen=True)
class ProcessorInput:
    name: str = line("Name")
    address: str = ""
    contact_email: str = line("Contact e-mail", default="")
    contact_phone: str = line("Contact phone", default="")
    dpo_name: str = line("DPO name", default="")
    dpo_email: str = line("DPO e-mail", default="")
    representative: str = line("Representative", default="")
    representative_contact: str = line("Representative's contact details", default="")
    country: str = line("Country", default="")


_CALENDAR_KEY = "dpa_tracker.processor_calendar"


def get_processor() -> ProcessorProfile | None:
    return db.session.get(ProcessorProfile, 1)


def save_processor(actor: User | None, data: ProcessorInput) -> ProcessorProfile:
    check_lines(data)
    if not data.name.strip():
        raise DomainError("The processor's name is required.", field="name")
    values = {k: v.strip() for k, v in asdict(data).items()}
    values["country"] = values["country"].upper()
    if values["country"] and (
        len(values["country"]) != 2 or not values["country"].isalpha() or not values["country"].isascii()
    ):
        raise DomainError(
            "The country must be a two-letter ISO code such as DZ or FR (or empty for the default calendar).",
            field="country",
        )
    for key in ("contact_email", "dpo_email"):
        if values[key]:
            values[key] = check_email(values[key], key)
    profile = get_processor()
    if profile is None:
        profile = ProcessorProfile(id=1, **values)
        db.session.add(profile)
        changes = values
    else:
        changes = {k: [getattr(profile, k), v] for k, v in values.items() if getattr(profile, k) != v}
        for key, value in values.items():
            setattr(profile, key, value)
    db.session.flush()
    db.session.info.pop(_CALENDAR_KEY, None)
    if changes:
        record(actor, "processor.update", profile, changes)
    if "country" in changes:
        # the clocks counted in working days follow the new calendar at once (imported here: the engine
        # reads the calendar from this module)
        from dpa_tracker.obligation.services import refresh_working_day_clocks

        refresh_working_day_clocks()
    return profile


def processor_calendar() -> WorkCalendar:
    """The working-day calendar of the processor's country (clause 9.1's forwarding target); read once per
    session, so that assessing many obligations costs one statement."""
    calendar = db.session.info.get(_CALENDAR_KEY)
    if calendar is None:
        country = db.session.scalar(select(ProcessorProfile.country).where(ProcessorProfile.id == 1))
        calendar = db.session.info[_CALENDAR_KEY] = calendar_for(country or "")
    return calendar
