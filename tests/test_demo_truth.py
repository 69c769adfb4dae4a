"""The demo tells the truth (issue 9, acceptance 8).

This is the one test module that loads the demo: it checks the demo itself. Every fact the demo
states about a real company must appear in that company's public privacy policy, kept in
tests/data/; every address it creates uses the reserved ``.example`` domain; its dates form a
possible history; no personal data leaves the EU/EEA without a recorded transfer; and loading it
only queues e-mail.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from dpa_tracker import clock as app_clock
from dpa_tracker.extensions import db
from dpa_tracker.models import (
    Authorisation,
    Client,
    DeliveryState,
    Evidence,
    NoticeDelivery,
    ProcessingActivity,
    SubProcessor,
    TriggerEvent,
)
from dpa_tracker.models.client import ProcessorProfile
from tests.support import make_app

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"
# The word that names each company, and its policy.
REFERENCES = {
    "altınsoft": "processor-privacy-policy-altinsoft.txt",
    "mahliatov": "hosting-privacy-policy-mahliatov.txt",
    "armonika": "hosting-privacy-policy-armonika.txt",
    "mittal cloud": "voip-privacy-policy-mittalcloud.txt",
    "souftech": "software-privacy-policy-souftech.txt",
}
# How a policy may name a country the demo records by its ISO code.
COUNTRY_NAMES = {"DZ": ("Algeria", "Algerian", "Algérie"), "FR": ("France", "French")}
UNKNOWN_COUNTRY = "ZZ"  # ISO 3166 user-assigned code, for a policy that names no country
# For each sub-processor, the words of its policy that support the service the demo says it gives.
SERVICE_WORDS = {"armonika": ("customer workloads", "hosted in Algeria")}
EU_EEA = {
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
    "IS",
    "LI",
    "NO",
}
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def invoke(app, runner, *args):
    with app.app_context():  # the test runner pushes none for commands added with add_command
        return runner.invoke(args=list(args))


@pytest.fixture
def demo(app, runner):
    result = invoke(app, runner, "seed-demo")
    assert result.exit_code == 0, result.output
    with app.app_context():
        yield


def reference(name: str) -> str:
    """The policy of the one company ``name`` names; an invented company has none."""
    matches = [file for key, file in REFERENCES.items() if key in name.casefold()]
    assert len(matches) == 1, f"{name!r} is not one of the companies of the reference documents"
    return (DATA / matches[0]).read_text(encoding="utf-8")


def in_text(fact: str, text: str) -> bool:
    return fact.casefold() in text.casefold()


def country_named(code: str, text: str) -> bool:
    return any(in_text(name, text) for name in COUNTRY_NAMES.get(code, ()))


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_company(name: str, *, country: str | None, address: str, dpo_name: str) -> None:
    text = reference(name)
    for part in name.split(" — "):  # "Mittal Cloud — ميتال كلاود": both spellings must be the policy's
        assert in_text(part, text), f"{part!r} is not how {name}'s policy spells its name"
    if country == UNKNOWN_COUNTRY:
        assert not any(country_named(code, text) for code in COUNTRY_NAMES), f"{name}'s policy names its country"
    elif country is not None:
        assert country_named(country, text), f"{name}'s policy does not put it in {country}"
    for part in filter(None, (p.strip() for p in address.split(","))):
        named_country = [code for code, names in COUNTRY_NAMES.items() if part in names]
        assert in_text(part, text) or any(country_named(code, text) for code in named_country), (
            f"{name}'s policy does not give {part!r} as its address"
        )
    assert not dpo_name or in_text(dpo_name, text), f"{name}'s policy names no DPO {dpo_name!r}"


def test_every_address_the_demo_creates_ends_in_example(demo):
    found: set[str] = set()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                if column == "message_id" or value is None:  # a Message-ID is not an address
                    continue
                text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
                found.update(ADDRESS.findall(text))
    # Users, notice addresses, queued deliveries, contacts and DPOs are all among them.
    assert {
        "admin@altinsoft.example",
        "dpo@altinsoft.example",
        "privacy@mahliatov.example",
        "info@mittalcloud.example",
        "contact@souftech.example",
        "privacy@armonika.example",
    } <= found
    assert sorted(a for a in found if not a.endswith(".example")) == []


def test_each_fact_about_a_company_is_in_its_reference_text(demo):
    processor = db.session.get(ProcessorProfile, 1)
    check_company(processor.name, country=None, address=processor.address, dpo_name=processor.dpo_name)
    clients = db.session.scalars(select(Client)).all()
    assert len(clients) == 4
    for client in clients:
        check_company(client.legal_name, country=client.country, address=client.address, dpo_name=client.dpo_name)
        assert not client.representative, f"{client.legal_name}'s policy names no representative"
    subs = db.session.scalars(select(SubProcessor)).all()
    assert subs
    for sub in subs:
        check_company(sub.legal_name, country=sub.country, address="", dpo_name=sub.dpo_name)
        text = reference(sub.legal_name)
        for words in SERVICE_WORDS[sub.legal_name.casefold()]:
            assert in_text(words, sub.service) and in_text(words, text), (sub.legal_name, sub.service)
        for location in sub.locations:
            assert country_named(location.split("—")[0].strip(), text), (sub.legal_name, location)


def test_reference_facts_the_old_demo_got_wrong_are_now_right(demo):
    by_name = {c.legal_name: c for c in db.session.scalars(select(Client))}
    souftech = by_name["Souftech"]
    assert (souftech.country, souftech.address) == ("DZ", "5 July Street, Taghzout, El Oued, Algeria")
    assert "İstanbul" not in db.session.get(ProcessorProfile, 1).address
    assert [c.dpo_name for c in by_name.values()] == ["", "", "", ""]


def test_evidence_and_events_form_a_possible_history(demo):
    now = app_clock.now()
    evidence = db.session.scalars(select(Evidence)).all()
    answering = [e for e in evidence if e.trigger_event_id is not None]
    assert evidence and answering
    for item in evidence:
        agreement = item.obligation.agreement
        added = aware(item.added_at)
        assert agreement.signed_on <= added.date() <= now.date(), (item.note, added)
        assert added <= now
        assert item.period_end is None or item.period_end <= added.date()
    for item in answering:
        event = item.trigger_event
        assert aware(event.occurred_at) <= aware(event.recorded_at) <= aware(item.added_at), item.note
    for event in db.session.scalars(select(TriggerEvent)):
        assert event.obligation.agreement.effective_on <= aware(event.occurred_at).date()
        assert aware(event.recorded_at) <= now
    for authorisation in db.session.scalars(select(Authorisation)):
        assert authorisation.agreement.signed_on <= authorisation.since_on <= now.date()


def test_no_location_or_subprocessor_outside_the_eu_without_a_transfer(demo):
    today = app_clock.now().date()
    checked = 0
    for activity in db.session.scalars(select(ProcessingActivity)):
        agreement = activity.client.agreements[0]
        permitted = {loc.split("—")[0].strip() for loc in agreement.permitted_location_list}
        authorised = {
            a.subprocessor_id
            for a in db.session.scalars(
                select(Authorisation).where(
                    Authorisation.agreement_id == agreement.id,
                    Authorisation.since_on <= today,
                    Authorisation.until_on.is_(None),
                )
            )
        }
        countries = {loc["country"] for loc in activity.locations}
        for sub in activity.subprocessors:
            assert sub.id in authorised, (activity.client.legal_name, sub.legal_name)
            if sub.country not in EU_EEA:
                assert sub.transfer_mechanism is not None, sub.legal_name
            countries.add(sub.country)
        assert countries <= permitted, (activity.client.legal_name, countries, permitted)
        covered = {t.destination for t in activity.transfers if t.mechanism is not None}
        for country in countries - EU_EEA:
            assert country in covered, f"{activity.client.legal_name}: {activity.name} in {country} has no transfer"
            checked += 1
    assert checked >= 2


def test_loading_the_demo_only_queues_mail_even_with_smtp_configured(app, runner, smtp):
    result = invoke(app, runner, "seed-demo")
    assert result.exit_code == 0, result.output
    with app.app_context():
        states = db.session.scalars(select(NoticeDelivery.state)).all()
    assert states and set(states) == {DeliveryState.QUEUED}
    assert smtp.messages == []


def test_make_run_loads_the_demo_into_a_fresh_sqlite_database(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)
    runner = app.test_cli_runner()
    sign_ins = tmp_path / "instance" / "demo-sign-ins.txt"
    try:
        assert invoke(app, runner, "init-db").exit_code == 0
        first = invoke(app, runner, "seed-demo", "--if-empty", "--credentials-file", str(sign_ins))
        assert first.exit_code == 0, first.output
        assert "Demo loaded" in first.output and "admin@altinsoft.example" in first.output
        assert "admin@altinsoft.example" in sign_ins.read_text(encoding="utf-8")
        again = invoke(app, runner, "seed-demo", "--if-empty", "--credentials-file", str(sign_ins))
        assert again.exit_code == 0, again.output
        assert "demo not loaded" in again.output and "admin@altinsoft.example" in again.output
        with app.app_context():
            assert len(db.session.scalars(select(Client)).all()) == 4
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
