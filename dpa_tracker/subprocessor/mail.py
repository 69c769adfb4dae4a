"""Sending e-mail through a real SMTP server (host, port, STARTTLS and credentials from config)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


def send_message(message: EmailMessage) -> None:
    config = current_app.config
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=15) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
