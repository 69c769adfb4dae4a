"""Refuse control characters in every input before any view runs.

NUL cannot be stored in PostgreSQL text (the driver raises), lone surrogates cannot be encoded to
UTF-8, and the other C0/C1 controls have no place in an agreement's records: they hide text in
reports and e-mails. Checking the parsed request once, centrally, covers query strings, form fields,
multipart file names and JSON bodies alike, on both databases. Tab, LF and CR stay allowed in values
(multi-line text); single-line fields refuse CR/LF in their own forms and schemas. Path segments need
no check: ids go through the int converter, other segments are compared with fixed names (404).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, abort, request

# C0 controls except tab, LF, CR; DEL; C1 controls. The API schemas declare TEXT_PATTERN on every string input.
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
TEXT_PATTERN = rf"^[^{CONTROL_CHARACTERS}]*$"
# ... and UTF-16 surrogates, which only a JSON escape (a lone "\ud800") can carry.
_IN_VALUES = re.compile(rf"[{CONTROL_CHARACTERS}\ud800-\udfff]")
# Names (query and field keys, file names) are single-line: no control character at all.
_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_JSON_DEPTH = 64


def _refuse(where: str) -> None:
    abort(400, description=f"The {where} contains a control character (such as NUL); remove it and try again.")


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        abort(400, description="The JSON body is nested too deeply.")
    if isinstance(value, str):
        if _IN_VALUES.search(value):
            _refuse("JSON body")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _IN_NAMES.search(key):
                _refuse("JSON body")
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def refuse_control_characters() -> None:
    for where, values in (("query string", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            # a multipart part whose name cannot be decoded has the name None (schemathesis found it)
            if _IN_NAMES.search(key or "") or _IN_VALUES.search(value or ""):
                _refuse(where)
    for key, file in request.files.items(multi=True):
        if _IN_NAMES.search(key or "") or _IN_NAMES.search(file.filename or ""):
            _refuse("uploaded file's name")
    if request.is_json:
        _check_json(request.get_json(silent=True))


def register_request_guard(app: Flask) -> None:
    app.before_request(refuse_control_characters)
