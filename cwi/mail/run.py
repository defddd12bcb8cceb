"""One mail batch: plan who gets what, write the outbox (dry run) or send, keeping the ledger.

Planning decides, per LA with a recipient, one action:

``send``
    No delivery to this director in the ledger (or ``--resend LA``).
``already sent``
    Sent before with the same PDF (sha256): skipped.
``changed``
    Sent before, but the PDF has changed since: reported, sent again only with ``--resend LA``.
``uncertain``
    A delivery was started and never confirmed (the run stopped while the server had the
    message): reported, never retried automatically -- check the server's log, then
    ``--resend LA``.
``no PDF``
    The LA has a recipient but no built PDF.
"""

from __future__ import annotations

import contextlib
import smtplib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from cwi.mail.compose import Outgoing, compose, mail_env, sha256_file
from cwi.mail.directors import DirectorsList, Recipient, read_directors
from cwi.mail.ledger import Ledger
from cwi.mail.smtp import MailAuthError, NoStartTLSError, SmtpConfig, SmtpConfigError, connect


class MailError(RuntimeError):
    """The batch cannot start; the message says what to fix."""


@dataclass(frozen=True)
class PlanItem:
    """What happens to one LA."""

    recipient: Recipient
    pdf: Path | None
    action: str
    detail: str = ""


@dataclass
class MailPlan:
    """Every LA's action, and the problems of the directors' list."""

    items: list[PlanItem]
    directors: DirectorsList
    context: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_send(self) -> list[PlanItem]:
        """Items whose action is ``send``."""
        return [i for i in self.items if i.action == "send"]

    def report(self) -> list[str]:
        """Lines for the user: list problems, then every LA not being sent and why."""
        d = self.directors
        lines = list(d.problems)
        lines += [
            f"{c}: in the directors' list but not a built LA (unknown code)."
            for c in d.unknown_las
        ]
        lines += [
            f"{c}: built, but no recipient in the directors' list." for c in d.without_recipient
        ]
        lines += [
            f"{i.recipient.la_code}: {i.action}. {i.detail}".rstrip()
            for i in self.items
            if i.action != "send"
        ]
        return lines


@dataclass
class MailResult:
    """What a batch did."""

    written: list[Path] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    uncertain: dict[str, str] = field(default_factory=dict)


def plan_batch(
    directors_csv: Path,
    pdf_dir: Path,
    ledger: Ledger,
    known_las: Iterable[str],
    only: Iterable[str] = (),
    resend: Iterable[str] = (),
    test_address: str | None = None,
    context: dict[str, dict[str, Any]] | None = None,
) -> MailPlan:
    """Decide what to send to whom.

    Parameters
    ----------
    directors_csv : Path
        The directors' list (see :func:`~cwi.mail.directors.read_directors`).
    pdf_dir : Path
        Folder holding ``<LA code>.pdf``.
    ledger : Ledger
        Earlier deliveries.
    known_las : iterable of str
        Codes of the built LAs.
    only : iterable of str
        Restrict the batch to these LAs.
    resend : iterable of str
        LAs to send again even if the ledger has a delivery (changed or uncertain).
    test_address : str, optional
        Deliveries go to this address; the ledger is not consulted (tests never count).
    context : dict, optional
        Template values per LA code.

    Returns
    -------
    MailPlan
    """
    known = sorted(set(known_las))
    only_set, resend_set = {c.upper() for c in only}, {c.upper() for c in resend}
    for code in sorted((only_set | resend_set) - set(known)):
        raise MailError(f"{code} (given with --only or --resend) is not a built LA.")
    directors = read_directors(directors_csv, known)
    items = []
    for code, rec in sorted(directors.recipients.items()):
        if only_set and code not in only_set:
            continue
        pdf = pdf_dir / f"{code}.pdf"
        if not pdf.is_file():
            items.append(PlanItem(rec, None, "no PDF", f"{pdf} does not exist: run `cwi build`."))
            continue
        if test_address:
            items.append(PlanItem(rec, pdf, "send", f"to the test address {test_address}"))
            continue
        last = ledger.last(code)
        if last is None or code in resend_set:
            items.append(PlanItem(rec, pdf, "send"))
        elif last.status == "pending":
            items.append(
                PlanItem(
                    rec, pdf, "uncertain",
                    f"A delivery to {last.recipient} started at {last.started_at} was never "
                    "confirmed (the run stopped). Check the server's log; if it did not arrive, "
                    f"rerun with --resend {code}.",
                )
            )  # fmt: skip
        elif last.pdf_sha256 != sha256_file(pdf):
            items.append(
                PlanItem(
                    rec, pdf, "changed",
                    f"The PDF has changed since it was sent to {last.recipient} on "
                    f"{last.finished_at}; rerun with --resend {code} to send the new one.",
                )
            )  # fmt: skip
        else:
            items.append(
                PlanItem(rec, pdf, "already sent", f"to {last.recipient} on {last.finished_at}")
            )
    return MailPlan(items, directors, context or {})


def _compose(item: PlanItem, plan: MailPlan, templates: Path, sender: str, to: str | None):
    assert item.pdf is not None
    return compose(
        item.recipient,
        item.pdf,
        plan.context.get(item.recipient.la_code, {}),
        mail_env(templates),
        sender,
        to=to,
    )


def write_outbox(
    plan: MailPlan, outbox: Path, templates: Path, sender: str, test_address: str | None = None
) -> MailResult:
    """Dry run: write each message that would be sent as ``<outbox>/<LA code>.eml``."""
    outbox.mkdir(parents=True, exist_ok=True)
    for old in outbox.glob("*.eml"):
        old.unlink()
    result = MailResult()
    for item in plan.to_send():
        out = _compose(item, plan, templates, sender, test_address)
        path = outbox / f"{item.recipient.la_code}.eml"
        path.write_bytes(out.message.as_bytes(policy=policy.SMTP))
        result.written.append(path)
    return result


_TRANSIENT = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,
)


def run_batch(
    plan: MailPlan,
    ledger: Ledger,
    config: SmtpConfig,
    templates: Path,
    sender: str,
    test_address: str | None = None,
    rate_seconds: float = 1.0,
    retries: int = 3,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    echo: Callable[[str], None] = lambda _line: None,
) -> MailResult:
    """Send every ``send`` item of the plan, one message per LA, recording each in the ledger.

    Parameters
    ----------
    plan : MailPlan
        From :func:`plan_batch`.
    ledger : Ledger
        Where deliveries are recorded (pending before sending, sent after the server's reply).
    config : SmtpConfig
        Server and credentials.
    templates : Path
        Folder of the message templates.
    sender : str
        The From address.
    test_address : str, optional
        Send every message here instead (recorded as test deliveries).
    rate_seconds : float
        Minimum time between two messages.
    retries : int
        Attempts after the first for a message that met a temporary failure (4xx or a dropped
        connection before the message was handed over); waits ``backoff_seconds * 2**k``.
    backoff_seconds : float
        First back-off.
    sleep : callable
        Waiting function (tests pass a fake).
    echo : callable
        Progress lines.

    Returns
    -------
    MailResult

    Raises
    ------
    MailAuthError, NoStartTLSError, SmtpConfigError, OSError
        Before anything is sent or recorded when the first connection fails.
    """
    result = MailResult()
    items = plan.to_send()
    if not items:
        return result
    envelope_from = parseaddr(sender)[1]
    conn = connect(config)  # raises before any ledger row is written
    last_start = None
    try:
        for item in items:
            code = item.recipient.la_code
            out: Outgoing = _compose(item, plan, templates, sender, test_address)
            rcpt = test_address or item.recipient.email
            if last_start is not None:
                wait = rate_seconds - (time.monotonic() - last_start)
                if wait > 0:
                    sleep(wait)
            last_start = time.monotonic()
            row = ledger.begin(
                code, rcpt, out.pdf_sha256, str(out.message["Message-ID"]), bool(test_address)
            )
            data = out.message.as_bytes(policy=policy.SMTP)
            attempt = 0
            while True:
                stage = "envelope"
                try:
                    code_, resp = conn.mail(envelope_from)
                    if code_ != 250:
                        raise smtplib.SMTPSenderRefused(code_, resp, envelope_from)
                    code_, resp = conn.rcpt(rcpt)
                    if code_ not in (250, 251):
                        conn.rset()
                        raise smtplib.SMTPRecipientsRefused({rcpt: (code_, resp)})
                    stage = "data"
                    code_, resp = conn.data(data)
                    if code_ != 250:
                        raise smtplib.SMTPDataError(code_, resp)
                except _TRANSIENT + (
                    smtplib.SMTPResponseException,
                    smtplib.SMTPRecipientsRefused,
                ) as exc:
                    reply = _reply(exc)
                    temporary = _is_temporary(exc)
                    if stage == "data" and isinstance(exc, _TRANSIENT):
                        # The server may hold the whole message: never risk a second copy.
                        ledger.finish(row, "pending", f"connection lost during DATA: {reply}")
                        result.uncertain[code] = reply
                        echo(
                            f"{code}: connection lost while the server had the message; not retried."
                        )
                        conn = _reconnect(config, conn)
                        break
                    if temporary and attempt < retries:
                        delay = backoff_seconds * 2**attempt
                        attempt += 1
                        echo(
                            f"{code}: temporary failure ({reply}); retry {attempt} in {delay:g} s"
                        )
                        sleep(delay)
                        if isinstance(exc, _TRANSIENT):
                            conn = _reconnect(config, conn)
                        else:
                            _rset(conn)
                        continue
                    ledger.finish(row, "failed", reply)
                    result.failed[code] = reply
                    echo(f"{code}: not sent ({reply})")
                    if isinstance(exc, _TRANSIENT):
                        conn = _reconnect(config, conn)
                    else:
                        _rset(conn)
                    break
                reply = f"{code_} {resp.decode('utf-8', 'replace')}"
                ledger.finish(row, "sent", reply)
                result.sent.append(code)
                echo(f"{code}: sent to {rcpt} ({reply})")
                break
    finally:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()
    return result


def _reply(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, resp = next(iter(exc.recipients.values()))
        return f"{code} {resp.decode('utf-8', 'replace') if isinstance(resp, bytes) else resp}"
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error
        return (
            f"{exc.smtp_code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
        )
    return f"{type(exc).__name__}: {exc}"


def _is_temporary(exc: Exception) -> bool:
    if isinstance(exc, _TRANSIENT):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = next(iter(exc.recipients.values()))[0]
        return 400 <= code < 500
    return isinstance(exc, smtplib.SMTPResponseException) and 400 <= exc.smtp_code < 500


def _rset(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        conn.rset()


def _reconnect(config: SmtpConfig, conn: smtplib.SMTP) -> smtplib.SMTP:
    with contextlib.suppress(OSError):
        conn.close()
    return connect(config)


__all__ = [
    "MailAuthError",
    "MailError",
    "MailPlan",
    "MailResult",
    "NoStartTLSError",
    "SmtpConfigError",
    "plan_batch",
    "run_batch",
    "write_outbox",
]
