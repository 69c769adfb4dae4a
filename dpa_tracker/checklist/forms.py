from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from dpa_tracker.checklist.services import COMMENT_MAX
from dpa_tracker.validation import SingleLineForm


class CommentForm(SingleLineForm):
    body = TextAreaField(
        "Comment (kept as written, never edited)", validators=[DataRequired(), Length(max=COMMENT_MAX)]
    )
