"""The PDF renderings of the record and of the sub-processor list (pure: hand-built record dicts, no database)."""

from __future__ import annotations

import io
import re
import time
import unicodedata
from pathlib import Path
from typing import Any

import arabic_reshaper
import pytest
from pypdf import PdfReader

from dpa_tracker.reports.record_pdf import render_record_pdf, render_subprocessor_list_pdf
from dpa_tracker.reports.text import is_rtl, para_text, reads_rtl, visual

SHA = "3f1c0e9d2b7a4c5e8f6a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcde"
# A copy of ../shared/reference/voip-privacy-policy-mittalcloud.txt, kept in the repository so the
# suite runs from any checkout.
REFERENCE = Path(__file__).parent / "data" / "voip-privacy-policy-mittalcloud.txt"
PRESENTATION_FORMS = re.compile("[\ufe70-\ufeff\ufb50-\ufdff]")


def arabic_title() -> str:
    return REFERENCE.read_text(encoding="utf-8").splitlines()[1].strip()


def _measure(i: int, heading: str, heading_title: str) -> dict[str, Any]:
    return {
        "id": i,
        "heading": heading,
        "heading_title": heading_title,
        "title": f"Measure {i} title",
        "description": "AES-256 at rest, TLS 1.3 in transit; keys held in an HSM and rotated yearly. " * 2,
        "documents": [
            {"sha256": f"{i:02d}" * 32, "filename": f"measure-{i}.pdf", "added_on": "2024-01-02", "valid_until": None}
        ],
    }


def make_record(n_activities: int = 2, n_subprocessors: int = 3, *, arabic: str | None = None) -> dict[str, Any]:
    headings = [
        ("encryption", "(a) Pseudonymisation and encryption of personal data"),
        ("resilience", "(b) Ongoing confidentiality, integrity, availability and resilience"),
    ]
    measures = [_measure(i, *headings[i % 2]) for i in range(1, 5)]
    subprocessors = [
        {
            "id": k,
            "legal_name": f"Sous-traitant Ultérieur {k} SAS",
            "country": "FR",
            "service": "Hébergement des serveurs de téléphonie",
            "locations": ["FR — Roubaix", "DE — Falkenstein"],
            "contact_email": f"privacy{k}@example.fr",
            "dpo_name": "Délégué à la protection des données",
            "dpo_email": f"dpo{k}@example.fr",
            "authorised_since": "2024-03-01",
        }
        for k in range(1, n_subprocessors + 1)
    ]
    activities = []
    for i in range(1, n_activities + 1):
        activities.append(
            {
                "id": i,
                "name": f"Activity {i:03d} call routing",
                "processing_categories": [f"Storage {i}", f"Hébergement {i}", "Transmission"],
                "data_subject_categories": ["Customers' employees", "Callers"],
                "personal_data_categories": ["Phone numbers", "Call detail records", "Voicemail recordings"],
                "special_categories": ["Health data in voicemail"] if i % 5 == 0 else [],
                "purposes": "Provide the hosted telephony service, route calls and keep call detail records "
                "for invoicing and fraud prevention as instructed by the controller.",
                "retention": "12 months after the end of the contract",
                "locations": [
                    {"country": "FR", "site": "Roubaix data centre"},
                    {"country": "DE", "site": "Falkenstein"},
                ],
                "subprocessors": [
                    {
                        k: v
                        for k, v in subprocessors[i % len(subprocessors)].items()
                        if k not in ("locations", "authorised_since")
                    }
                ]
                if subprocessors
                else [],
                "transfers": [
                    {
                        "id": i,
                        "destination": f"Dest{i:03d} Country",
                        "is_international_organisation": False,
                        "recipient": "Support desk provider",
                        "mechanism": "scc",
                        "mechanism_title": "Standard contractual clauses (Art. 46(2)(c))",
                        "mechanism_detail": "Module 3 (processor to processor), 2021/914",
                        "safeguards_documents": [
                            {
                                "sha256": "ab" * 32,
                                "filename": "scc-signed.pdf",
                                "added_on": "2024-02-01",
                                "valid_until": "2027-02-01",
                            }
                        ],
                    }
                ]
                if i % 2 == 1
                else [],
                "security_measure_ids": [1, 2, 3, 4],
            }
        )
    if arabic is not None and activities:
        activities[0]["name"] = arabic
        activities[0]["purposes"] = (arabic + " ") * 6
    return {
        "schema": "dpa-tracker/art30-2-record/v1",
        "as_of": "2024-06-30",
        "processor": {
            "name": "Mittal Cloud Processor Ltd",
            "address": "1 Rue de la Paix, 75002 Paris",
            "contact_email": "privacy@processor.example",
            "contact_phone": "+33 1 23 45 67 89",
            "dpo_name": "Délégué à la protection des données",
            "dpo_email": "dpo@processor.example",
        },
        "client": {
            "id": 7,
            "legal_name": "Société Générale d'Hébergement",
            "country": "FR",
            "address": "12 Avenue des Champs-Élysées, Paris",
            "contact_emails": ["legal@client.example"],
            "dpo_name": "Amélie Dupré",
            "dpo_email": "dpo@client.example",
            "representative": None,
        },
        "activities": activities,
        "security_measures": measures,
        "subprocessors": subprocessors,
        "problems": [],
    }


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Whitespace collapsed: wrapped table cells break lines between words."""
    return " ".join(text.split())


def test_record_contains_every_element() -> None:
    record = make_record(6, 3)
    data = render_record_pdf(record, 4, SHA)
    assert data.startswith(b"%PDF")
    reader, raw = pdf_text(data)
    text = flat(raw)
    assert "Record of processing activities — Art. 30(2) GDPR" in text
    assert "Version 4" in text
    assert SHA in text
    assert "Mittal Cloud Processor Ltd" in text
    assert "Société Générale d'Hébergement" in text
    assert "Contents" in text  # more than three activities
    for activity in record["activities"]:
        assert activity["name"] in text
        for category in activity["processing_categories"]:
            assert category in text
        for transfer in activity["transfers"]:
            assert transfer["destination"] in text
            assert transfer["mechanism_title"] in text
            assert "abababababab" in text  # safeguards document SHA-256 prefix
    for measure in record["security_measures"]:
        assert measure["title"] in text
        assert measure["heading_title"] in text
    for heading in (
        "1. Controller and processor",
        "Transfers (Art. 30(2)(c))",
        "Security measures (Art. 30(2)(d))",
        "Sub-processors authorised",
        "Completeness",
        "SPECIAL CATEGORIES OF DATA",
    ):
        assert heading in text
    assert "Complete" in text
    # every page carries the footer
    for i, page in enumerate(reader.pages, start=1):
        page_text = flat(page.extract_text())
        assert f"Page {i} of {len(reader.pages)}" in page_text
        assert f"Record SHA-256: {SHA}" in page_text
        assert "Version 4" in page_text


def test_french_accents_survive() -> None:
    _, text = pdf_text(render_record_pdf(make_record(2, 2), 1, SHA))
    text = flat(text)
    assert "Délégué à la protection des données" in text
    assert "Hébergement" in text
    assert "Champs-Élysées" in text


def test_no_toc_for_few_activities_and_no_transfers_says_none() -> None:
    record = make_record(2, 1)
    for activity in record["activities"]:
        activity["transfers"] = []
    record["problems"] = ["Activity 001 call routing: no data location (clause 7.2)."]
    _, text = pdf_text(render_record_pdf(record, 2, SHA))
    text = flat(text)
    assert "Contents" not in text
    assert "Transfers to third countries or international organisations: none." in text
    assert "no data location (clause 7.2)." in text


def test_markup_characters_are_escaped() -> None:
    record = make_record(1, 1)
    record["activities"][0]["name"] = "R&D <beta> tools"
    record["activities"][0]["purposes"] = "Compare a < b & c > d"
    _, text = pdf_text(render_record_pdf(record, 1, SHA))
    text = flat(text)
    assert "R&D <beta> tools" in text
    assert "Compare a < b & c > d" in text


def test_arabic_is_shaped_and_in_visual_order() -> None:
    arabic = arabic_title()
    assert is_rtl(arabic)
    record = make_record(2, 1, arabic=arabic)
    record["client"]["legal_name"] = arabic
    _, raw = pdf_text(render_record_pdf(record, 1, SHA))
    # Only shaping produces presentation forms (joined initial/medial/final glyphs): unshaped, the PDF would
    # hold isolated base letters U+0600-U+06FF.
    assert PRESENTATION_FORMS.search(raw)
    # The glyphs are drawn in visual (right-to-left) order; pypdf recognises right-to-left runs and gives them
    # back in logical order, so the NFKC-normalised extraction reads as the source. Drawn without bidi
    # reordering, the extraction would come out reversed and this would fail.
    norm = " ".join(unicodedata.normalize("NFKC", raw).split())
    assert arabic in norm
    for word in arabic.split():
        assert word in norm
        assert word[::-1] not in norm


def test_rtl_helpers() -> None:
    assert visual("Hébergement") == "Hébergement"
    assert para_text("a < b & c") == "a &lt; b &amp; c"
    assert para_text(None) == ""
    shaped = visual("ميتال")
    assert shaped != "ميتال"
    assert PRESENTATION_FORMS.search(shaped)
    assert not is_rtl("Délégué")
    # the first strong letter decides the direction, as in the pages (CSS unicode-bidi: plaintext)
    assert not reads_rtl("Mittal Cloud — ميتال كلاود") and is_rtl("Mittal Cloud — ميتال كلاود")
    assert reads_rtl("ميتال كلاود (Mittal Cloud)") and reads_rtl("2024 — ميتال")
    assert not reads_rtl("2024") and not reads_rtl(None)


def test_many_activities_span_many_pages() -> None:
    data = render_record_pdf(make_record(50, 10), 3, SHA)
    reader, text = pdf_text(data)
    assert len(reader.pages) > 1
    assert f"Page 1 of {len(reader.pages)}" in flat(reader.pages[0].extract_text())
    assert "Activity 050 call routing" in flat(text)


def test_deterministic_output() -> None:
    record = make_record(4, 2)
    assert render_record_pdf(record, 1, SHA) == render_record_pdf(record, 1, SHA)


@pytest.mark.parametrize("subprocessors", [[], make_record(1, 4)["subprocessors"]])
def test_subprocessor_list(subprocessors: list[dict[str, Any]]) -> None:
    data = render_subprocessor_list_pdf("Société Générale d'Hébergement", "2024-06-30", subprocessors, SHA)
    reader, text = pdf_text(data)
    text = flat(text)
    assert "Authorised sub-processors" in text
    assert "Société Générale d'Hébergement" in text
    assert "2024-06-30" in text
    assert f"Page 1 of {len(reader.pages)}" in text
    assert SHA in text
    for sp in subprocessors:
        assert sp["legal_name"] in text
        assert sp["service"] in text
        assert "Délégué à la protection des données" in text
    if not subprocessors:
        assert "No sub-processor is authorised." in text


def test_contents_carry_page_numbers() -> None:
    reader, _ = pdf_text(render_record_pdf(make_record(8, 2), 1, SHA))
    contents = reader.pages[1].extract_text()
    assert "Contents" in contents
    # page numbers are PDF forms filled in after layout: each heading is followed by the page it starts on
    last = len(reader.pages)
    assert re.search(rf"6\. Completeness\s+{last}\b", contents)
    assert re.search(r"1\. Controller and processor\s+3\b", contents)
    assert "Activity 008 call routing" in contents


def test_large_record_renders_quickly() -> None:
    """200 activities and 40 sub-processors take about a second; a slip back to multi-pass layout takes ~10 s."""
    record = make_record(200, 40)
    start = time.perf_counter()
    data = render_record_pdf(record, 1, SHA)
    elapsed = time.perf_counter() - start
    assert len(PdfReader(io.BytesIO(data)).pages) > 100
    assert elapsed < 5, f"{elapsed:.2f}s"


def _x_of(data: bytes, page: int, needle: str | re.Pattern[str]) -> float:
    """Where the first text chunk holding ``needle`` starts on the page (x, in points)."""
    found: list[float] = []

    def visit(text: str, cm: Any, tm: Any, *_: Any) -> None:
        hit = needle.search(text) if isinstance(needle, re.Pattern) else needle in text
        if hit and not found:
            found.append(tm[4] * cm[0] + cm[4])

    PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    assert found, needle
    return found[0]


def test_a_latin_name_with_arabic_inside_stays_left_aligned_and_arabic_first_goes_right() -> None:
    record = make_record(1, 0)
    record["client"]["legal_name"] = "Mittal Cloud — ميتال كلاود"
    record["client"]["address"] = "الجزائر العاصمة"
    data = render_record_pdf(record, 1, SHA)
    country = _x_of(data, 1, "FR")  # a plain value: where the value column starts
    assert abs(_x_of(data, 1, "Mittal Cloud — ") - country) < 1
    # the address is the first value that starts with Arabic: right-aligned in the same column
    assert _x_of(data, 1, arabic_reshaper.reshape("العاصمة")) > country + 100
