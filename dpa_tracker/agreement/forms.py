from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.models import AgreementStatus
from dpa_tracker.models.agreement import AUTHORISATION_TITLES, AuthorisationType
from dpa_tracker.validation import SingleLineForm


class AgreementForm(SingleLineForm):
    reference = StringField("Reference", validators=[DataRequired(), Length(max=60)])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    template_key = SelectField("Clause template", validators=[DataRequired()])
    # Choices as a callable: WTForms 3.3 deprecates (and warns on) tuple choices passed at construction.
    status = SelectField("Status", choices=lambda: [(s.value, s.value.capitalize()) for s in AgreementStatus],
                         default=AgreementStatus.ACTIVE.value)
    signed_on = DateField("Signed on", validators=[InputRequired(), within_range])
    effective_on = DateField("Effective on", validators=[InputRequired(), within_range])
    ends_on = DateField("Ends on", validators=[Optional(), within_range])
    subprocessor_objection_days = IntegerField("Sub-processor objection period (days, clause 6.1)", default=30,
                                               validators=[InputRequired(), NumberRange(1, 365)])
    subprocessor_authorisation = SelectField(
        "Sub-processor authorisation (clause 6.1)", default=AuthorisationType.GENERAL.value,
        choices=lambda: [(t.value, AUTHORISATION_TITLES[t]) for t in AuthorisationType])
    breach_notice_hours = IntegerField("Breach notice target (hours, clause 8.1)", default=24,
                                       validators=[InputRequired(), NumberRange(1, 720)])
    deletion_days = IntegerField("Deletion period after the end (days, clause 13)", default=10,
                                 validators=[InputRequired(), NumberRange(1, 365)])
    confidentiality_years = IntegerField("Confidentiality after expiry (years, clause 2.2)", default=5,
                                         validators=[InputRequired(), NumberRange(0, 50)])
    permitted_locations = TextAreaField("Permitted data locations (one per line, clause 7.2)",
                                        validators=[Optional(), Length(max=2000)])


class EndAgreementForm(SingleLineForm):
    ends_on = DateField("Agreement ended on", validators=[InputRequired(), within_range])
