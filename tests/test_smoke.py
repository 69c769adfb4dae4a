from dpa_tracker.catalogue import DEFAULT_TEMPLATE, get_template
from dpa_tracker.models import Role
from tests.factories import make_agreement, make_client, make_user


def test_compliance_user_signs_in_and_sees_agreement_checklist(app, client, auth):
    with app.app_context():
        acme = make_client("Acme Hosting")
        user = make_user(Role.COMPLIANCE, "karim@example.com")
        agreement = make_agreement(acme, user, reference="DPA-ACME-1")
        agreement_id = agreement.id
    assert auth.login("karim@example.com").status_code == 302
    page = client.get(f"/agreements/{agreement_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "DPA-ACME-1" in html
    assert html.count('data-clause="') == len(get_template(DEFAULT_TEMPLATE).clauses)
