"""Forms of the client's transfers page (clause 10)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
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


class LawTransferForm(SingleLineForm):
    """Clause 10(2)(b): a transfer the law requires of us."""

    agreement_id = SelectField("Agreement", coerce=str, validators=[DataRequired()])
    learnt_at = DateTimeLocalField(
        "We learnt of the legal obligation at (UTC; the clock starts here)",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired()],
    )
    authority = StringField("Authority that requires it", validators=[DataRequired(), Length(max=200)])
    law = StringField("Law (and article) that imposes it", validators=[DataRequired(), Length(max=300)])
    destination = StringField("Recipient organisation", validators=[DataRequired(), Length(max=200)])
    destination_country = StringField(
        "Destination country (ISO code; empty for an international organisation)", validators=[Length(max=2)]
    )
    data_concerned = TextAreaField("Personal data concerned", validators=[DataRequired(), Length(max=4000)])
    notice_forbidden = BooleanField("The law forbids telling the client (important grounds of public interest)")
    forbidden_ground = TextAreaField(
        "The public-interest ground and its reference (law, article)", validators=[Length(max=4000)]
    )
    proof = FileField("Proof of the legal obligation (document)")


class NotifyForm(SingleLineForm):
    pass
