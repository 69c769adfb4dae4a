"""Forms of the end-of-contract workflow (clause 13)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.models.deletion import CHOICE_TITLES, EndChoice, EndKind
from dpa_tracker.validation import SingleLineForm


class EndForm(SingleLineForm):
    """Record the end: how and when it ended, the client's choice, and a retention exception if known now."""

    ends_on = DateField("Agreement ended on", validators=[InputRequired(), within_range])
    end_kind = SelectField(
        "How it ended",
        default=EndKind.TERMINATED.value,
        choices=lambda: [(k.value, k.value.capitalize()) for k in EndKind],
    )
    choice = SelectField(
        "The client's choice (clause 13)",
        default=EndChoice.DELETE.value,
        choices=lambda: [(c.value, CHOICE_TITLES[c]) for c in EndChoice],
    )
    what = StringField("Retention exception: data kept (optional)", validators=[Optional(), Length(max=2000)])
    legal_basis = StringField("Its legal basis", validators=[Optional(), Length(max=2000)])
    until_on = DateField("Kept until", validators=[Optional(), within_range])


class ExceptionForm(SingleLineForm):
    what = StringField("Data kept", validators=[DataRequired(), Length(max=2000)])
    legal_basis = StringField("Legal basis that requires keeping it", validators=[DataRequired(), Length(max=2000)])
    until_on = DateField("Kept until", validators=[InputRequired(), within_range])


class CompleteTaskForm(SingleLineForm):
    done_on = DateField("Done on", validators=[InputRequired(), within_range])
    done_by = StringField("Done by", validators=[DataRequired(), Length(max=200)])
    method = TextAreaField("How (method, ticket, tool)", validators=[Length(max=4000)])
    file = FileField("Proof (document; required for a sub-processor's confirmation)")
