"""``cwi mail``: e-mail each LA's director their own A4 profile, once.

One message per LA, composed from ``templates/mail_profile.{txt,html}.j2`` with exactly that
LA's PDF attached. The default is a dry run that writes an outbox of ``.eml`` files to review;
``--send`` delivers over SMTP (STARTTLS or implicit TLS; plain only to localhost and only when
asked), with credentials from environment variables only. A sqlite ledger records every
delivery (LA, recipient, PDF sha256, the server's reply) before and after it is attempted, so a
rerun -- also after a crash mid-batch -- sends nothing twice.

Modules: :mod:`~cwi.mail.directors` (the directors' list), :mod:`~cwi.mail.compose` (messages),
:mod:`~cwi.mail.ledger` (what was sent), :mod:`~cwi.mail.smtp` (the connection),
:mod:`~cwi.mail.run` (the batch).
"""

from cwi.mail.directors import DirectorsList, Recipient, read_directors
from cwi.mail.ledger import Ledger
from cwi.mail.run import MailError, MailPlan, MailResult, plan_batch, run_batch
from cwi.mail.smtp import SmtpConfig, SmtpConfigError

__all__ = [
    "DirectorsList",
    "Ledger",
    "MailError",
    "MailPlan",
    "MailResult",
    "Recipient",
    "SmtpConfig",
    "SmtpConfigError",
    "plan_batch",
    "read_directors",
    "run_batch",
]
