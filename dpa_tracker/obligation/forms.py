from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, InputRequired, Length, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.validation import SingleLineForm


class EvidenceForm(SingleLineForm):
    file = FileField("File (PDF, image, office document, ZIP or text)")
    note = TextAreaField("Note", validators=[Optional(), Length(max=10000)])
    link = StringField("Link", validators=[Optional(), URL(require_tld=False), Length(max=2000)])
    period_start = DateField("Period covered: from", validators=[Optional(), within_range])
    period_end = DateField("to", validators=[Optional(), within_range])
    valid_until = DateField("Valid until", validators=[Optional(), within_range])
    trigger_event_id = SelectField("Answers event", coerce=str, validators=[Optional()])
    supersedes_id = SelectField("Supersedes evidence", coerce=str, validators=[Optional()])
    acted_on = DateField("Act done on (UTC; empty: now)", validators=[Optional(), within_range])
    acted_time = StringField("at (HH:MM)", validators=[Optional(), Length(max=5)])


class EventForm(SingleLineForm):
    occurred_on = DateField("Date (UTC)", validators=[InputRequired(), within_range])
    occurred_time = StringField("Time (UTC, HH:MM)", validators=[DataRequired(), Length(max=5)], default="09:00")
    aware_on = DateField("Became aware on (UTC; empty: when it happened)", validators=[Optional(), within_range])
    aware_time = StringField("at (HH:MM)", validators=[Optional(), Length(max=5)])
    summary = TextAreaField("What happened", validators=[DataRequired(), Length(max=5000)])


class AwarenessForm(SingleLineForm):
    aware_on = DateField("Became aware on (UTC)", validators=[InputRequired(), within_range])
    aware_time = StringField("at (HH:MM)", validators=[DataRequired(), Length(max=5)])


class NotApplicableForm(SingleLineForm):
    reason = TextAreaField("Why it does not apply", validators=[Optional(), Length(max=2000)])


class ObligationForm(SingleLineForm):
    owner_id = SelectField("Owner", coerce=str, validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=10000)])


class WithdrawForm(SingleLineForm):
    reason = TextAreaField("Why is it withdrawn?", validators=[DataRequired(), Length(max=2000)])
