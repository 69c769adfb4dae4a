from wtforms import BooleanField, DateField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from dpa_tracker.dates import within_range
from dpa_tracker.models import REQUEST_TYPE_TITLES, RequestChannel, RequestType
from dpa_tracker.validation import SingleLineForm

MOMENT = "%Y-%m-%dT%H:%M"


def _channels() -> list[tuple[str, str]]:
    return [(c.value, c.value.replace("_", " ")) for c in RequestChannel]


class RequestForm(SingleLineForm):
    agreement_id = SelectField("Agreement (client)", coerce=str, validators=[DataRequired()])
    received_at = DateTimeLocalField(
        "Received at (UTC; the forwarding clock starts here)", format=MOMENT, validators=[InputRequired()]
    )
    channel = SelectField("Channel", choices=_channels)
    type = SelectField("Right invoked", choices=lambda: [(t.value, REQUEST_TYPE_TITLES[t]) for t in RequestType])
    subject_reference = StringField(
        "Data-subject reference (a customer number or ticket id: not the request's content)",
        validators=[DataRequired(), Length(max=200)],
    )


class ForwardForm(SingleLineForm):
    pass


class AnswerForm(SingleLineForm):
    answer = TextAreaField("Answer to the data subject", validators=[Length(max=4000)])


class HelpForm(SingleLineForm):
    clause_number = SelectField(
        "Clause",
        choices=lambda: [("3.1(6)", "3.1(6): modify, update or erase data"), ("3.1(7)", "3.1(7): assistance")],
    )
    received_at = DateTimeLocalField("Client asked at (UTC)", format=MOMENT, validators=[InputRequired()])


class InstructionForm(SingleLineForm):
    agreement_id = SelectField("Agreement (client)", coerce=str, validators=[DataRequired()])
    received_on = DateField("Received on", validators=[InputRequired(), within_range])
    channel = SelectField("Channel", choices=_channels)
    content = TextAreaField(
        "The instruction (or where its document is kept)", validators=[DataRequired(), Length(max=10000)]
    )
    about_transfers = BooleanField("About transfers of personal data", validators=[Optional()])


class FlagForm(SingleLineForm):
    reason = TextAreaField("Why it appears unlawful", validators=[DataRequired(), Length(max=4000)])
