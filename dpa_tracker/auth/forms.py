from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from dpa_tracker.validation import SingleLineForm


class LoginForm(SingleLineForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
