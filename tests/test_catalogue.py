"""The clause catalogue is data: the default template and how a second one is added."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dpa_tracker.catalogue import CATALOGUE_DIR, CatalogueError, load_templates, parse_template

BINDING_CLAUSES = [
    "2.1",
    "2.2",
    "3.1(1)",
    "3.1(2)",
    "3.1(3)",
    "3.1(4)",
    "3.1(5)",
    "3.1(6)",
    "3.1(7)",
    "3.1(8)",
    "3.2",
    "4.1",
    "4.2",
    "4.3",
    "5.1",
    "5.2",
    "5.3",
    "6.1",
    "6.2",
    "6.3",
    "7.1",
    "7.2",
    "7.2(3)",
    "8.1",
    "8.1(2)",
    "8.2",
    "8.3",
    "9.1",
    "10(1)",
    "10(2)",
    "10(2)(b)",
    "11.1",
    "11.2",
    "13",
]


def test_default_template_has_every_binding_clause_once_with_article_and_rule():
    template = load_templates()["altinsoft-dpa"]
    assert [c.number for c in template.clauses] == BINDING_CLAUSES
    for clause in template.clauses:
        assert clause.title and clause.summary and clause.gdpr.startswith("Art.")
    rules = {c.number: c.rule for c in template.clauses}
    assert rules["13"] == {
        "type": "deadline",
        "after": "agreement_end",
        "days_setting": "deletion_days",
        "requires": "processing_stopped",
    }
    assert rules["2.2"]["lasts_years_setting"] == "confidentiality_years"
    assert rules["8.1"]["hours_setting"] == "breach_notice_hours"
    assert rules["5.2"] == {"type": "recurring", "every_months": 12, "requires": "agents_authorised"}
    assert rules["5.3"]["requires"] == "agents_access_removed"


def test_summaries_are_paraphrased_not_pasted_from_the_contract():
    contract = Path(__file__).parent / "data" / "subcontracting-agreement.txt"  # copy of the reference
    text = " ".join(contract.read_text(encoding="utf-8").split()).lower()
    for clause in load_templates()["altinsoft-dpa"].clauses:
        words = clause.summary.lower().split()
        runs = {" ".join(words[i : i + 8]) for i in range(max(len(words) - 7, 0))}
        assert not any(run in text for run in runs), f"clause {clause.number} copies the contract"


def test_a_second_template_is_just_a_file(tmp_path):
    for path in CATALOGUE_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "short.yaml").write_text(
        yaml.safe_dump(
            {
                "key": "short-dpa",
                "version": 2,
                "title": "Short DPA",
                "clauses": [
                    {
                        "number": "1",
                        "section": "1. All",
                        "title": "Everything",
                        "summary": "All duties.",
                        "gdpr": "Art. 28",
                        "rule": {"type": "recurring", "every_months": 6},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    templates = load_templates.__wrapped__(tmp_path)
    assert set(templates) == {"altinsoft-dpa", "short-dpa"}
    assert templates["short-dpa"].clauses[0].rule["every_months"] == 6


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "sometimes"}, "unknown rule type"),
        ({"type": "recurring"}, "every_months"),
        ({"type": "deadline", "after": "agreement_end"}, "days"),
        ({"type": "event"}, "clock"),
        ({"type": "standing", "lasts_years_setting": "nope"}, "unknown agreement setting"),
        ({"type": "event", "hours_setting": "deletion_days"}, "needs a setting in hours"),
    ],
)
def test_malformed_rules_are_refused_with_the_clause_named(rule, message):
    data = {
        "key": "bad",
        "version": 1,
        "title": "Bad",
        "clauses": [{"number": "9.9", "section": "S", "title": "T", "summary": "S", "rule": rule}],
    }
    with pytest.raises(CatalogueError, match=message) as caught:
        parse_template(data)
    assert "9.9" in str(caught.value)


def test_duplicate_clause_numbers_are_refused():
    clause = {"number": "1", "section": "S", "title": "T", "summary": "S", "rule": {"type": "standing"}}
    with pytest.raises(CatalogueError, match="duplicate"):
        parse_template({"key": "dup", "version": 1, "title": "Dup", "clauses": [clause, clause]})
