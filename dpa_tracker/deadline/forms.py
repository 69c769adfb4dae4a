"""Forms of the deadline pages: the calendar feed buttons (CSRF-protected, no fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class FeedForm(FlaskForm):
    """Create (or replace) the user's calendar feed token."""


class RevokeFeedForm(FlaskForm):
    """Revoke the user's calendar feed token."""
