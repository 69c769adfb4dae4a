"""Single-line text: references, names, titles, addresses of e-mail and the like hold one line and no control
characters, whichever way they arrive (page, API, command line).

A CR or LF in a value that later becomes an e-mail header (the agreement reference is in every notice's
subject) would make the message impossible to build, or inject headers; tabs, NULs and other control
characters only hide what a value really says. One rule, applied by three adapters:

* services: ``line()`` marks a field of an input dataclass as single-line and ``check_lines()`` enforces
  every marked field (lists are checked item by item); ``check_line()`` is the plain function for the odd
  argument that is not in a dataclass;
* pages: ``SingleLineForm`` applies ``SingleLine`` to every single-line input of the form (every
  ``StringField`` except text areas and passwords), so no form lists its fields again;
* API: ``Line`` is the marshmallow string field for single-line values.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from marshmallow import ValidationError, fields
from wtforms import Field, PasswordField, StringField, TextAreaField
from wtforms.validators import StopValidation

from dpa_tracker.errors import DomainError

# Cc: C0 and C1 controls and DEL (CR, LF, TAB, NUL...); Zl/Zp: the Unicode line and paragraph separators,
# which str.splitlines() and mail clients also treat as line breaks.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
_META_KEY = "single_line"


def is_single_line(value: str) -> bool:
    return not any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value)


def single_line_message(label: str) -> str:
    return f"{label} must be a single line without control characters."


def check_line(value: str, label: str, field: str | None = None) -> str:
    """Return ``value`` unchanged, or raise a DomainError naming the field."""
    if not is_single_line(value):
        raise DomainError(single_line_message(label), field=field)
    return value


def line(label: str, **kwargs: Any) -> Any:
    """A dataclass field that must hold a single line (or a list of single lines)."""
    metadata = {**kwargs.pop("metadata", {}), _META_KEY: label}
    return dataclasses.field(metadata=metadata, **kwargs)


def check_lines(data: Any) -> None:
    """Refuse the first single-line field of the input dataclass ``data`` that spans lines."""
    for item in dataclasses.fields(data):
        label = item.metadata.get(_META_KEY)
        if label is None:
            continue
        value = getattr(data, item.name)
        values = [value] if isinstance(value, str) else value or []
        for one in values:
            if isinstance(one, str):
                check_line(one, label, item.name)
            elif isinstance(one, Mapping):  # structured items such as {"country": ..., "site": ...}
                for part in one.values():
                    if isinstance(part, str):
                        check_line(part, label, item.name)


def _label(field: Field) -> str:
    # "Country (ISO code)" reads better as "Country" in an error message.
    return str(field.label.text).split(" (", 1)[0].strip() or field.name


class SingleLine:
    """WTForms validator: the field's text is one line without control characters."""

    field_flags = {"single_line": True}

    def __call__(self, form: Any, field: Field) -> None:
        data = field.data
        if isinstance(data, str) and not is_single_line(data):
            raise StopValidation(single_line_message(_label(field)))


def _is_single_line_input(field: Field) -> bool:
    return isinstance(field, StringField) and not isinstance(field, TextAreaField | PasswordField)


class SingleLineForm(FlaskForm):
    """A form whose single-line inputs (text, e-mail, search... not text areas or passwords) refuse line
    breaks and control characters; a browser never sends them from such an input, a script may."""

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if _is_single_line_input(field) and name != "csrf_token":
                extra.setdefault(name, []).insert(0, SingleLine())
        return super().validate(extra_validators=extra)


class Line(fields.String):
    """Marshmallow string field for single-line values; the error names the field (or ``label`` metadata)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_single_line(text):
            label = self.metadata.get("label") or (self.name or attr or "Value").replace("_", " ").capitalize()
            raise ValidationError(single_line_message(label))
        return text
