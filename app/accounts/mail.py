"""Outgoing mail: ``console`` (the default) logs each message; ``smtp`` sends it.

SMTP delivery runs in a background thread, so a slow or unreachable mail server neither
delays the response nor reveals (by timing) whether an address has an account.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)


def send_mail(to: str, subject: str, body: str) -> threading.Thread | None:
    """Hand one plain-text message to the configured backend.

    Returns the delivery thread for SMTP (tests join it), None for the console backend.
    """
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if config["MAIL_BACKEND"] == "console":
        headers = "".join(
            f"{name}: {value}\n"
            for name, value in message.items()
            if name in ("From", "To", "Subject")
        )
        # The body as written, not transfer-encoded: links stay whole and can be copied.
        log.info("mail (console backend, not sent)\n%s\n%s", headers, body)
        return None
    settings = {key: config[key] for key in config if key.startswith("MAIL_")}
    thread = threading.Thread(target=_deliver, args=(settings, message), daemon=True)
    thread.start()
    return thread


def _deliver(settings: Mapping[str, Any], message: EmailMessage) -> None:
    host, port, timeout = settings["MAIL_SERVER"], settings["MAIL_PORT"], settings["MAIL_TIMEOUT"]
    try:
        if settings["MAIL_USE_SSL"]:
            context = ssl.create_default_context()
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings["MAIL_USE_TLS"] and not settings["MAIL_USE_SSL"]:
                client.starttls(context=ssl.create_default_context())
            if settings["MAIL_USERNAME"]:
                client.login(settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"])
            client.send_message(message)
        log.info("mail sent to %s: %s", message["To"], message["Subject"])
    except (OSError, smtplib.SMTPException):
        log.exception("mail to %s could not be sent through %s:%s", message["To"], host, port)
