"""The mail backend chosen by settings."""

from __future__ import annotations

from app.adapters.mail.base import MailSender
from app.adapters.mail.sink import MailSink
from app.adapters.mail.smtp import SmtpMailer
from app.core.settings import MailBackendName, Settings


def create_mail_sender(settings: Settings) -> MailSender:
    match settings.mail_backend:
        case MailBackendName.sink:
            return MailSink(settings.mail_dir, sender=settings.mail_from)
        case MailBackendName.smtp:
            password = settings.smtp_password
            return SmtpMailer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password.get_secret_value() if password is not None else None,
                starttls=settings.smtp_starttls,
                timeout_seconds=settings.smtp_timeout_seconds,
                sender=settings.mail_from,
                provider_name=settings.smtp_provider_name,
                provider_privacy_policy=settings.smtp_provider_privacy_url,
                provider_location=settings.smtp_provider_location,
            )


__all__ = ["create_mail_sender"]
