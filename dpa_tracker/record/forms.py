from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.models import MeasureHeading, ProcessingCategory, TransferMechanism
from dpa_tracker.record.builder import HEADING_TITLES, MECHANISM_TITLES
from dpa_tracker.record.services import FORMATS
from dpa_tracker.validation import SingleLineForm


class ActivityForm(SingleLineForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    processing_categories = SelectMultipleField(
        "Categories of processing (Art. 30(2)(b))",
        choices=lambda: [(c.value, c.value.replace("_", " ")) for c in ProcessingCategory],
    )
    data_subject_categories = TextAreaField("Categories of data subjects (one per line)", validators=[Length(max=4000)])
    personal_data_categories = TextAreaField(
        "Categories of personal data (one per line)", validators=[Length(max=4000)]
    )
    special_categories = TextAreaField("Special categories, Art. 9 (one per line)", validators=[Length(max=4000)])
    purposes = TextAreaField("Purposes, as instructed by the client", validators=[Length(max=4000)])
    retention = TextAreaField("Retention, as instructed", validators=[Length(max=4000)])
    locations = TextAreaField(
        "Data locations: COUNTRY site, one per line (e.g. DZ Alger data centre)", validators=[Length(max=4000)]
    )
    measure_ids = SelectMultipleField("Security measures", coerce=str, validators=[Optional()])
    subprocessor_ids = SelectMultipleField("Sub-processors involved", coerce=str, validators=[Optional()])


class TransferForm(SingleLineForm):
    destination = StringField(
        "Destination (country code or international organisation)", validators=[DataRequired(), Length(max=200)]
    )
    is_international_organisation = BooleanField("International organisation")
    recipient = StringField("Recipient", validators=[DataRequired(), Length(max=200)])
    mechanism = SelectField("Mechanism", choices=lambda: [(m.value, MECHANISM_TITLES[m]) for m in TransferMechanism])
    mechanism_detail = TextAreaField("Detail", validators=[Optional(), Length(max=4000)])


class MeasureForm(SingleLineForm):
    heading = SelectField("Art. 32(1) heading", choices=lambda: [(h.value, HEADING_TITLES[h]) for h in MeasureHeading])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("General description", validators=[DataRequired(), Length(max=10000)])


class DocumentForm(SingleLineForm):
    file = FileField("Document")
    note = StringField("Note", validators=[Optional(), Length(max=2000)])
    valid_until = DateField("Valid until", validators=[Optional(), within_range])


class ReviewForm(SingleLineForm):
    note = TextAreaField("What was reviewed", validators=[Optional(), Length(max=4000)])


class RequestForm(SingleLineForm):
    summary = TextAreaField("What do you need?", validators=[DataRequired(), Length(max=4000)])


class HandOutForm(SingleLineForm):
    """Create a version of the record (a POST: a link or a prefetcher never hands out a copy)."""

    as_of = DateField("As of", validators=[InputRequired()])
    # Plain strings (value = label): WTForms 3.3 deprecates tuples in the constructor, and types-WTForms
    # (3.2) knows only tuples.
    format = SelectField("Format", choices=list(FORMATS))  # type: ignore[arg-type]
    to_client = BooleanField("Handed to the client (answers its open clause 4.2 requests)")
