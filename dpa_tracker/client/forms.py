from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from dpa_tracker.validation import SingleLineForm


class ClientForm(SingleLineForm):
    legal_name = StringField("Legal name", validators=[DataRequired(), Length(max=200)])
    country = StringField("Country (ISO code)", validators=[DataRequired(), Length(min=2, max=2)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=2000)])
    notice_emails = TextAreaField(
        "Notice e-mail addresses (one per line, clause 8.1)", validators=[DataRequired(), Length(max=4000)]
    )
    dpo_name = StringField("DPO name", validators=[Optional(), Length(max=200)])
    dpo_email = EmailField("DPO e-mail", validators=[Optional(), Length(max=254)])
    representative = StringField("Representative", validators=[Optional(), Length(max=200)])
    representative_contact = StringField("Representative's contact details", validators=[Optional(), Length(max=500)])
