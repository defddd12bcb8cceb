"""``cwi mail``: glue between the command line, the settings, the results store and the batch."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from cwi.config import Settings
from cwi.mail.ledger import Ledger
from cwi.mail.run import MailError, plan_batch, run_batch, write_outbox
from cwi.mail.smtp import MailAuthError, NoStartTLSError, SmtpConfig, SmtpConfigError

_LA_PDF = re.compile(r"^[A-Z]\d{8}$")


def default_directors(settings: Settings) -> Path:
    """The demo region's contacts file when the build runs on the demo, else a private list."""
    if settings.data_source == "demo":
        return settings.demo_dir / "contacts.csv"
    return settings.private_dir / "directors.csv"


def batch_context(settings: Settings) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Built LA codes and each LA's template values (from the results store, else the PDFs)."""
    from cwi.profiles import data_source_label
    from cwi.store import ResultsStore

    synthetic = settings.data_source in ("demo", "real-geography")
    base = {"source": data_source_label(settings), "synthetic": synthetic}
    base |= {"snapshot": f"31 March {settings.main_year}", "region": "the region"}
    store = ResultsStore(settings)
    codes = store.profile_codes() if store.profiles_dir.is_dir() else []
    if not codes:
        codes = sorted(p.stem for p in settings.pdf_dir.glob("*.pdf") if _LA_PDF.match(p.stem))
    context = {}
    for code in codes:
        ctx = dict(base)
        try:
            prof = store.profile(code)
        except Exception:  # noqa: BLE001 - a store without this profile: PDF-only values
            prof = {}
        ctx["la_name"] = prof.get("la_name", code)
        ctx["region"] = prof.get("region_name", ctx["region"])
        ctx["snapshot"] = prof.get("snapshot", ctx["snapshot"])
        context[code] = ctx
    return codes, context


def mail_cli(
    settings: Settings,
    *,
    directors: Path | None,
    send: bool,
    only: list[str],
    resend: list[str],
    test_address: str | None,
    outbox: Path | None,
    ledger_path: Path | None,
    host: str | None,
    port: int | None,
    security: str,
    ca_file: Path | None,
    sender: str | None,
    rate: float,
    retries: int,
) -> int:
    """Run ``cwi mail``; return the exit code (0 done, 1 something not sent, 2 cannot start)."""
    directors = directors or default_directors(settings)
    outbox = outbox or settings.build_dir / "outbox"
    ledger_path = ledger_path or settings.private_dir / "mail_ledger.sqlite"
    if not directors.is_file():
        typer.secho(f"No directors' list at {directors}: give --directors.", fg="red", err=True)
        return 2
    codes, context = batch_context(settings)
    if not codes:
        typer.secho("No LA profiles built: run `cwi build` first.", fg="red", err=True)
        return 2
    sender = sender or "CWI profiles <cwi-profiles@localhost>"
    with Ledger(ledger_path) as ledger:
        try:
            plan = plan_batch(
                directors, settings.pdf_dir, ledger, codes, only, resend, test_address, context
            )
        except (MailError, ValueError) as exc:
            typer.secho(str(exc), fg="red", err=True)
            return 2
        for line in plan.report():
            typer.secho(line, fg="yellow")
        if not send:
            result = write_outbox(plan, outbox, settings.templates_dir, sender, test_address)
            typer.echo(
                f"Dry run: {len(result.written)} message(s) written to {outbox} to review; "
                "nothing was sent. Add --send to send them."
            )
            return 0
        try:
            config = SmtpConfig.from_env(host or "", port, security, ca_file)
            result = run_batch(
                plan,
                ledger,
                config,
                settings.templates_dir,
                sender,
                test_address=test_address,
                rate_seconds=rate,
                retries=retries,
                echo=typer.echo,
            )
        except (SmtpConfigError, MailAuthError, NoStartTLSError) as exc:
            typer.secho(str(exc), fg="red", err=True)
            return 2
        except OSError as exc:
            typer.secho(f"Cannot reach {host}:{port}: {exc}", fg="red", err=True)
            return 2
    typer.echo(
        f"Sent {len(result.sent)}; failed {len(result.failed)}; unconfirmed "
        f"{len(result.uncertain)}. Ledger: {ledger_path}"
    )
    return 1 if result.failed or result.uncertain else 0
