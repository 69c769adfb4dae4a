from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.models import ActionKind, BreachNature, NoticePhase, RiskLevel
from dpa_tracker.models.breach import RISK_TITLES
from dpa_tracker.validation import SingleLineForm

MOMENT = "%Y-%m-%dT%H:%M"


class BreachForm(SingleLineForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    occurred_at = DateTimeLocalField("Happened at (UTC)", format=MOMENT, validators=[InputRequired()])
    detected_at = DateTimeLocalField("Detected at (UTC)", format=MOMENT, validators=[InputRequired()])
    aware_at = DateTimeLocalField(
        "We became aware at (UTC; the clock starts here)", format=MOMENT, validators=[InputRequired()]
    )
    natures = SelectMultipleField(
        "Nature", choices=lambda: [(n.value, n.value) for n in BreachNature], validators=[DataRequired()]
    )
    description = TextAreaField("What happened", validators=[DataRequired(), Length(max=10000)])
    systems = TextAreaField("Systems concerned", validators=[Length(max=4000)])
    subprocessor_ids = SelectMultipleField("Sub-processors involved", coerce=str, validators=[Optional()])
    source_subprocessor_id = SelectField("Caused or reported by (sub-processor)", coerce=str, validators=[Optional()])
    source_notice = FileField("The sub-processor's own notice to us")
    agent_ids = SelectMultipleField("Agents involved (clause 5 register)", coerce=str, validators=[Optional()])
    agents = TextAreaField("Other people involved (not agents)", validators=[Length(max=4000)])
    data_subject_categories = TextAreaField("Categories of data subjects", validators=[Length(max=4000)])
    data_subjects_approx = IntegerField("Approximate number of data subjects", validators=[Optional(), NumberRange(0)])
    record_categories = TextAreaField("Categories of personal data records", validators=[Length(max=4000)])
    records_approx = IntegerField("Approximate number of records", validators=[Optional(), NumberRange(0)])
    likely_consequences = TextAreaField("Likely consequences", validators=[Length(max=4000)])
    measures_taken = TextAreaField("Measures taken", validators=[Length(max=4000)])
    measures_proposed = TextAreaField("Measures proposed", validators=[Length(max=4000)])
    agreement_failures = TextAreaField("Failures against the agreement (clause 8.3)", validators=[Length(max=4000)])
    risk = SelectField(
        "Risk assessment (never delays the notice)",
        choices=lambda: [(r.value, RISK_TITLES[r]) for r in RiskLevel],
        default=RiskLevel.NOT_ASSESSED.value,
    )
    contact_point = TextAreaField("Contact point for the client", validators=[DataRequired(), Length(max=2000)])
    agreement_ids = SelectMultipleField("Affected agreements", coerce=str, validators=[DataRequired()])


class AffectedForm(SingleLineForm):
    agreement_id = SelectField("Agreement", coerce=str, validators=[DataRequired()])


class NotifyForm(SingleLineForm):
    agreement_id = SelectField("Client (agreement)", coerce=str, validators=[DataRequired()])
    phase = SelectField(
        "Notice", choices=lambda: [(NoticePhase.INITIAL.value, "initial"), (NoticePhase.FOLLOW_UP.value, "follow-up")]
    )
    new_information = TextAreaField("New information (follow-up)", validators=[Length(max=10000)])


class ActionForm(SingleLineForm):
    kind = SelectField("Action", choices=lambda: [(k.value, k.value) for k in ActionKind])
    description = TextAreaField("What", validators=[DataRequired(), Length(max=4000)])
    owner = StringField("Owner", validators=[Length(max=200)])
    due_on = DateField("Due on", validators=[Optional(), within_range])
    done_on = DateField("Done on", validators=[Optional(), within_range])
    evidence = TextAreaField("Evidence that it is done", validators=[Length(max=4000)])


class ActionDoneForm(SingleLineForm):
    """Clause 8.1(2): mark an open action done, with what shows it."""

    action_id = SelectField("Action", coerce=str, validators=[DataRequired()])
    done_on = DateField("Done on", validators=[InputRequired(), within_range])
    evidence = TextAreaField("Evidence that it is done (a report, a ticket, a link)", validators=[Length(max=4000)])
    file = FileField("Or attach the document")
