from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.models import AppointedBy, CertificationKind, InspectionKind, Severity
from dpa_tracker.models.inspection import CERTIFICATION_TITLES
from dpa_tracker.validation import SingleLineForm


class InspectionForm(SingleLineForm):
    agreement_id = SelectField("Agreement", coerce=str, validators=[DataRequired()])
    kind = SelectField(
        "Request",
        choices=lambda: [
            (InspectionKind.DOCUMENTS.value, "documents (clause 11.1)"),
            (InspectionKind.AUDIT.value, "an audit (clause 11.2)"),
        ],
    )
    received_on = DateField("Received on", validators=[DataRequired(), within_range])
    requester_name = StringField("Requested by", validators=[DataRequired(), Length(max=200)])
    requester_email = StringField("Requester's e-mail", validators=[Optional(), Length(max=254)])
    subject = TextAreaField("Documents requested, or audit scope asked", validators=[DataRequired(), Length(max=4000)])


class DocumentsForm(SingleLineForm):
    provided_on = DateField("Provided on", validators=[DataRequired(), within_range])
    file = FileField("Document provided")
    note = StringField("Note", validators=[Optional(), Length(max=2000)])


class EngagementForm(SingleLineForm):
    auditor_organisation = StringField("Auditor's organisation", validators=[DataRequired(), Length(max=200)])
    auditor_people = TextAreaField("Auditors (people)", validators=[Length(max=4000)])
    appointed_by = SelectField(
        "Appointed by",
        choices=lambda: [(a.value, a.value) for a in AppointedBy],
    )
    controller_mandate = BooleanField("The client (controller) gave the mandate (Art. 28(3)(h))")
    planned_on = DateField("Planned on", validators=[DataRequired(), within_range])
    starts_on = DateField("Started on", validators=[Optional(), within_range])
    ends_on = DateField("Ended on", validators=[Optional(), within_range])
    scope = TextAreaField("Scope", validators=[Length(max=4000)])
    continuity_conditions = TextAreaField(
        "Conditions protecting service continuity and other clients", validators=[Length(max=4000)]
    )
    cost_amount = StringField("Cost borne by the client", validators=[Optional(), Length(max=20)])
    cost_currency = StringField("Currency", validators=[Optional(), Length(max=3)])
    cost_note = TextAreaField("Cost note", validators=[Length(max=2000)])
    declaration = FileField("Declaration of independence and confidentiality")
    report = FileField("Closing report")


class FindingForm(SingleLineForm):
    clause = SelectField("Clause concerned", coerce=str, validators=[DataRequired()])
    severity = SelectField("Severity", choices=lambda: [(s.value, s.value) for s in Severity])
    description = TextAreaField("Finding", validators=[DataRequired(), Length(max=4000)])
    due_on = DateField("Due on", validators=[DataRequired(), within_range])


class CloseFindingForm(SingleLineForm):
    closed_on = DateField("Closed on", validators=[DataRequired(), within_range])
    file = FileField("Evidence of closure")
    note = StringField("Note", validators=[Optional(), Length(max=2000)])


class RemediationForm(SingleLineForm):
    description = StringField("Action", validators=[DataRequired(), Length(max=2000)])
    owner_id = SelectField("Owner", coerce=str, validators=[DataRequired()])
    due_on = DateField("Due on", validators=[DataRequired(), within_range])


class RemediationDoneForm(SingleLineForm):
    done_on = DateField("Done on", validators=[DataRequired(), within_range])
    file = FileField("Evidence of closure")


class CertificationForm(SingleLineForm):
    kind = SelectField("Kind", choices=lambda: [(k.value, CERTIFICATION_TITLES[k]) for k in CertificationKind])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    issuer = StringField("Issuer", validators=[DataRequired(), Length(max=200)])
    issued_on = DateField("Issued on", validators=[DataRequired(), within_range])
    expires_on = DateField("Expires on", validators=[Optional(), within_range])
    file = FileField("Certificate or report")


class CertificationRequestForm(SingleLineForm):
    agreement_id = SelectField("For agreement", coerce=str, validators=[DataRequired()])
