"""Compose one LA's message: plain text and HTML alternative, that LA's PDF and nothing else."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cwi.mail.directors import Recipient

TEXT_TEMPLATE = "mail_profile.txt.j2"
HTML_TEMPLATE = "mail_profile.html.j2"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def mail_env(templates_dir: Path) -> Environment:
    """Jinja2 environment for the message templates: autoescaping on (off only for ``.txt.j2``)."""
    return Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(
            enabled_extensions=("html.j2", "html"),
            disabled_extensions=("txt.j2",),
            default=True,
            default_for_string=True,
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Outgoing:
    """A composed message and what the ledger records about it."""

    la_code: str
    recipient: Recipient
    pdf: Path
    pdf_sha256: str
    message: EmailMessage


def compose(
    recipient: Recipient,
    pdf: Path,
    context: dict[str, Any],
    env: Environment,
    sender: str,
    to: str | None = None,
) -> Outgoing:
    """Build the message for one LA.

    Parameters
    ----------
    recipient : Recipient
        The LA's director.
    pdf : Path
        That LA's profile PDF (the only attachment).
    context : dict
        Template values: ``la_name``, ``snapshot``, ``region``, ``source``, ``synthetic``...
    env : Environment
        From :func:`mail_env`.
    sender : str
        The From address.
    to : str, optional
        Deliver to this address instead of the director (``--to-test-address``).

    Returns
    -------
    Outgoing
    """
    values = {**context, "director_name": recipient.name, "la_code": recipient.la_code}
    values.setdefault("la_name", recipient.la_name or recipient.la_code)
    text = env.get_template(TEXT_TEMPLATE).render(values)
    html = env.get_template(HTML_TEMPLATE).render(values)
    subject_line, _, body = text.partition("\n")
    if not subject_line.startswith("Subject: "):
        raise ValueError(f"{TEXT_TEMPLATE} must start with a 'Subject: ' line.")
    msg = EmailMessage()
    msg["Subject"] = subject_line.removeprefix("Subject: ").strip()
    msg["From"] = sender
    msg["To"] = to or recipient.address
    if to:
        msg["X-CWI-Test-For"] = recipient.la_code
    msg["Date"] = format_datetime(_now())
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    msg["Message-ID"] = make_msgid(idstring=f"cwi-{recipient.la_code}", domain=domain)
    msg["X-CWI-LA"] = recipient.la_code
    msg.set_content(body.lstrip("\n"))
    msg.add_alternative(html, subtype="html")
    data = pdf.read_bytes()
    name = f"{_slug(values['la_name'])}-profile-{recipient.la_code}.pdf"
    msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return Outgoing(recipient.la_code, recipient, pdf, hashlib.sha256(data).hexdigest(), msg)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-") or "LA"


def _now():  # noqa: ANN202 - tiny helper, patched nowhere
    import datetime as dt

    return dt.datetime.now(dt.UTC)
