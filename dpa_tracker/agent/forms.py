"""Forms of the agent register (clause 5)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.models import AttestationKind, EmployerKind
from dpa_tracker.models.agent import ATTESTATION_TITLES
from dpa_tracker.validation import SingleLineForm


class AgentForm(SingleLineForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail (optional; identifies the agent in imports)", validators=[Optional(), Length(max=254)])
    function = StringField("Role or function", validators=[DataRequired(), Length(max=200)])
    employer_kind = SelectField("Employer", choices=lambda: [(k.value, k.value) for k in EmployerKind])
    employer_name = StringField("Employer's name (contractor)", validators=[Optional(), Length(max=200)])
    subprocessor_id = SelectField("Sub-processor (for sub-processor staff)", coerce=str, validators=[Optional()])
    experience_note = TextAreaField("Experience and skills (clause 5.2(1))", validators=[Length(max=4000)])
    mission_ends_on = DateField("End of mission (if known)", validators=[Optional(), within_range])


class AssignForm(SingleLineForm):
    agreement_id = SelectField("Agreement", coerce=str, validators=[DataRequired()])
    scope = TextAreaField("Access granted (clauses 5.1, 5.3(1))", validators=[DataRequired(), Length(max=4000)])
    since_on = DateField("Works on it since", validators=[InputRequired(), within_range])


class AttestationForm(SingleLineForm):
    kind = SelectField("Record", choices=lambda: [(k.value, ATTESTATION_TITLES[k]) for k in AttestationKind])
    done_on = DateField("Date (designated, signed or trained on)", validators=[InputRequired(), within_range])
    by_whom = StringField("Designated by (designation)", validators=[Optional(), Length(max=200)])
    course = StringField("Course (training)", validators=[Optional(), Length(max=200)])
    provider = StringField("Provider (training)", validators=[Optional(), Length(max=200)])
    note = TextAreaField("Note", validators=[Length(max=4000)])
    file = FileField("Document (signed designation, commitment or certificate)")


class WithdrawForm(SingleLineForm):
    reason = StringField("Why is this record withdrawn?", validators=[DataRequired(), Length(max=500)])


class MissionForm(SingleLineForm):
    mission_ends_on = DateField("Last day of the mission", validators=[InputRequired(), within_range])
    removed = BooleanField("Access removed: confirmed (clause 5.3(3))")


class ImportForm(SingleLineForm):
    file = FileField("CSV file (UTF-8)")
