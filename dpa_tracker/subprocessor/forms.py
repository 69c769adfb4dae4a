from flask_wtf.file import FileField
from wtforms import DateField, EmailField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.models import ChangeKind, TransferMechanism
from dpa_tracker.models.subprocessor import CONSEQUENCE_TITLES, ObjectionConsequence
from dpa_tracker.record.builder import MECHANISM_TITLES
from dpa_tracker.validation import SingleLineForm


class SubProcessorForm(SingleLineForm):
    legal_name = StringField("Legal name", validators=[DataRequired(), Length(max=200)])
    country = StringField("Country (ISO code)", validators=[DataRequired(), Length(min=2, max=2)])
    service = StringField("Service", validators=[DataRequired(), Length(max=200)])
    data_categories = TextAreaField("Data categories handled (one per line)", validators=[Length(max=4000)])
    locations = TextAreaField("Locations (one per line)", validators=[Length(max=4000)])
    transfer_mechanism = SelectField(
        "Transfer mechanism",
        choices=lambda: [("", "none (no transfer)"), *((m.value, MECHANISM_TITLES[m]) for m in TransferMechanism)],
    )
    contact_email = EmailField("Contact e-mail", validators=[Optional(), Length(max=254)])
    dpo_name = StringField("DPO name", validators=[Optional(), Length(max=200)])
    dpo_email = EmailField("DPO e-mail", validators=[Optional(), Length(max=254)])


class AuthoriseForm(SingleLineForm):
    agreement_id = SelectField("Agreement", coerce=str, validators=[DataRequired()])
    since_on = DateField("Authorised since", validators=[InputRequired(), within_range])
    written = FileField("Client's written authorisation (required under a specific authorisation)")


class NoticeForm(SingleLineForm):
    kind = SelectField("Change", choices=lambda: [(k.value, k.value) for k in ChangeKind])
    subprocessor_id = SelectField(
        "Sub-processor (new one, or the one removed)", coerce=str, validators=[DataRequired()]
    )
    replaces_id = SelectField("Replaces (for a replacement)", coerce=str, validators=[Optional()])
    agreement_ids = SelectMultipleField("Agreements to notify", coerce=str, validators=[DataRequired()])
    reason = TextAreaField("Reason (the client sees it)", validators=[DataRequired(), Length(max=4000)])
    corrects_id = SelectField("Corrects notice", coerce=str, validators=[Optional()])


class AnswerForm(SingleLineForm):
    decision = SelectField("Decision", choices=lambda: [("approve", "Approve"), ("object", "Object")])
    reason = TextAreaField("Reason (required to object)", validators=[Optional(), Length(max=4000)])
    consequence = SelectField(
        "If you object",
        default=ObjectionConsequence.NOT_USED.value,
        choices=lambda: [(c.value, CONSEQUENCE_TITLES[c]) for c in ObjectionConsequence],
    )
