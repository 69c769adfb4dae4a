"""Forms of the client's transfers page (clause 10)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import DateField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.validation import SingleLineForm


class ConsentForm(SingleLineForm):
    given_on = DateField("Consent given on", validators=[InputRequired(), within_range])
    given_by = StringField("Given by (name and role, for the client)", validators=[DataRequired(), Length(max=200)])
    countries = StringField(
        "Countries outside the EU/EEA it covers (ISO codes, e.g. US, IN)", validators=[Optional(), Length(max=400)]
    )
    transfer_ids = SelectMultipleField("Transfers of the record it covers", coerce=str, validators=[Optional()])
    scope = TextAreaField("Scope (the consent's own words)", validators=[Length(max=4000)])
    file = FileField("Signed consent (document)")


class DisclosureForm(SingleLineForm):
    recipient = StringField("Third party", validators=[DataRequired(), Length(max=200)])
    purpose = TextAreaField("Purpose", validators=[DataRequired(), Length(max=4000)])
    authorised_on = DateField("Authorised on", validators=[InputRequired(), within_range])
    file = FileField("Written authorisation (document)")


class WithdrawForm(SingleLineForm):
    reason = StringField("Why is it withdrawn?", validators=[DataRequired(), Length(max=500)])
