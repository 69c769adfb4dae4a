from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from dpa_tracker.models import Role
from dpa_tracker.validation import SingleLineForm


class UserCreateForm(SingleLineForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=lambda: [(r.value, r.value.capitalize()) for r in Role])  # callable: no warning
    client_id = SelectField("Client (client users only)", coerce=str, validators=[Optional()])
    audited_clients = SelectMultipleField("Clients to review (auditors only)", coerce=str, validators=[Optional()])
    password = PasswordField("Initial password (12+ characters)", validators=[DataRequired(), Length(min=12, max=1024)])


class UserEditForm(SingleLineForm):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    active = BooleanField("Active")
    audited_clients = SelectMultipleField("Clients to review (auditors only)", coerce=str, validators=[Optional()])


class PasswordResetForm(SingleLineForm):
    """An admin sets a new password for another user (who then signs in with it and may change it)."""

    new_password = PasswordField(
        "New password (12+ characters, hard to guess)", validators=[DataRequired(), Length(max=1024)]
    )
    new_password_again = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", message="The two new passwords differ.")],
    )


class ProcessorForm(SingleLineForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    address = StringField("Address", validators=[Optional(), Length(max=2000)])
    contact_email = EmailField("Contact e-mail", validators=[Optional(), Length(max=254)])
    contact_phone = StringField("Contact phone", validators=[Optional(), Length(max=50)])
    dpo_name = StringField("DPO name", validators=[Optional(), Length(max=200)])
    dpo_email = EmailField("DPO e-mail", validators=[Optional(), Length(max=254)])
    representative = StringField("Representative (Art. 27)", validators=[Optional(), Length(max=200)])
    representative_contact = StringField("Representative's contact details", validators=[Optional(), Length(max=500)])
    country = StringField(
        "Country (working-day calendar)",
        validators=[Optional(), Length(max=2)],
        description="Two-letter ISO code, e.g. DZ or FR: its weekends and public holidays count the clause 9.1 "
        "forwarding target in working days. Empty: Saturday-Sunday weekends, no public holidays.",
    )
