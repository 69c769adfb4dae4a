from typing import TypeVar

from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from dpa_tracker.agreement.settings import SETTINGS
from dpa_tracker.dates import within_range
from dpa_tracker.models import AgreementStatus
from dpa_tracker.models.agreement import AUTHORISATION_TITLES, AuthorisationType
from dpa_tracker.validation import SingleLineForm

F = TypeVar("F", bound=type[SingleLineForm])


def _with_settings(form: F) -> F:
    """Add one whole-number field per agreement setting, labelled with its unit and clause."""
    for setting in SETTINGS:
        setattr(
            form,
            setting.name,
            IntegerField(
                setting.title,
                default=setting.default,
                validators=[InputRequired(), NumberRange(setting.low, setting.high)],
                description=f"{setting.low}-{setting.high} {setting.unit_text}; default {setting.default}",
            ),
        )
    return form


@_with_settings
class AgreementForm(SingleLineForm):
    reference = StringField("Reference", validators=[DataRequired(), Length(max=60)])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    template_key = SelectField("Clause template", validators=[DataRequired()])
    # Choices as a callable: WTForms 3.3 deprecates (and warns on) tuple choices passed at construction.
    status = SelectField(
        "Status",
        choices=lambda: [(s.value, s.value.capitalize()) for s in AgreementStatus],
        default=AgreementStatus.ACTIVE.value,
    )
    signed_on = DateField("Signed on", validators=[InputRequired(), within_range])
    effective_on = DateField("Effective on", validators=[InputRequired(), within_range])
    ends_on = DateField("Ends on", validators=[Optional(), within_range])
    subprocessor_authorisation = SelectField(
        "Sub-processor authorisation (clause 6.1)",
        default=AuthorisationType.GENERAL.value,
        choices=lambda: [(t.value, AUTHORISATION_TITLES[t]) for t in AuthorisationType],
    )
    permitted_locations = TextAreaField(
        "Permitted data locations (one per line, clause 7.2)", validators=[Optional(), Length(max=2000)]
    )


@_with_settings
class SettingsForm(SingleLineForm):
    """Change an agreement's deadline settings."""
