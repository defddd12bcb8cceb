"""The ``cwi`` command line: one entry point for every stage of the flow.

Heavy imports happen inside each command so that ``cwi --help`` is instant.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Child welfare inequalities: build the findings site, LA profiles and PDFs.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold child-level data: never print them
)
reference_app = typer.Typer(help="Get, check or point at the public reference data.")
app.add_typer(reference_app, name="reference")
interviews_app = typer.Typer(help="The interview strand: coding scheme, imports, summary tables.")
app.add_typer(interviews_app, name="interviews")

SettingsOpt = Annotated[
    Path | None,
    typer.Option("--settings", help="Settings file (default: settings.yml or $CWI_SETTINGS)."),
]


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message tells the user what to do: shown without a traceback."""
    from cwi.config import SettingsError
    from cwi.demo import DemoFolderError
    from cwi.disclosure import DisclosureError
    from cwi.ingest.pseudo import PseudoKeyError
    from cwi.io import BuildLockError, OutputError
    from cwi.pipeline import BuildError
    from cwi.reference.errors import ReferenceDataError
    from cwi.site.content import FragmentsFolderError
    from cwi.site.render import RenderError
    from cwi.store import StoreError

    return (
        BuildError,
        SettingsError,
        ReferenceDataError,
        DisclosureError,
        RenderError,
        StoreError,
        PseudoKeyError,
        BuildLockError,
        FragmentsFolderError,
        OutputError,
        DemoFolderError,
    )


def _run(settings_obj, stages: list[str] | None, force: bool = False) -> None:  # noqa: ANN001
    from cwi.config import SettingsError
    from cwi.pipeline import run

    try:
        run(settings_obj, stages=stages, force=force)
    except SettingsError as exc:  # a setting the data contradicts (e.g. an unknown LA code)
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    except _user_errors() as exc:
        typer.secho(f"{type(exc).__name__}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


def _settings(path: Path | None):  # noqa: ANN202 - typer helper
    from cwi.config import SettingsError, load_settings

    try:
        return load_settings(path)
    except SettingsError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc


@app.command()
def build(
    settings: SettingsOpt = None,
    stages: Annotated[
        str | None,
        typer.Option(help="Comma-separated stages to run (default: all). See `cwi stages`."),
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Public-data edition only: every English LA from published tables, no "
            "child-level data (same as data.source: public).",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Ignore every cache: ingest and render everything.")
    ] = False,
) -> None:
    """Run the whole flow: inputs, ingest, cube, analysis, disclosure, store, pages, site, PDFs, scan."""
    chosen = _settings(settings)
    if public:
        chosen = chosen.with_overrides(data={"source": "public"})
    _run(chosen, stages.split(",") if stages else None, force=force)


@app.command("pre-render")
def pre_render(settings: SettingsOpt = None) -> None:
    """Quarto pre-render hook: build the results store and write one page per LA."""
    from cwi.pipeline import PRE_RENDER

    _run(_settings(settings), list(PRE_RENDER))


@app.command("post-render")
def post_render(settings: SettingsOpt = None) -> None:
    """Quarto post-render hook: write one A4 PDF per LA and scan the site for leaks.

    Under Quarto the site is where Quarto wrote it (``QUARTO_PROJECT_OUTPUT_DIR``, relative to
    the project folder it runs the hook in): the PDFs go to its ``pdf/`` and the scan covers it.
    """
    from cwi.pipeline import POST_RENDER

    chosen = _settings(settings)
    quarto_site = os.environ.get("QUARTO_PROJECT_OUTPUT_DIR")
    if quarto_site:
        site = Path(quarto_site).resolve()
        chosen = chosen.with_overrides(
            output={"site_dir": str(site), "pdf_dir": str(site / "pdf")}
        )
    _run(chosen, list(POST_RENDER))


@app.command()
def stages() -> None:
    """List the stages of the flow in order."""
    from cwi.pipeline import STAGES

    for name, stage in STAGES.items():
        typer.echo(f"{name:12s} {stage.__doc__.splitlines()[0] if stage.__doc__ else ''}")


@app.command()
def mail(
    send: Annotated[
        bool,
        typer.Option("--send", help="Send (default: dry run writing an outbox of .eml files)."),
    ] = False,
    directors: Annotated[
        Path | None,
        typer.Option(help="Directors' list CSV: la_code, name, email (default: demo contacts)."),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Only this LA (repeatable).")
    ] = None,
    resend: Annotated[
        list[str] | None,
        typer.Option(
            "--resend", help="Send this LA again although the ledger has it (repeatable)."
        ),
    ] = None,
    to_test_address: Annotated[
        str | None,
        typer.Option("--to-test-address", help="Send every message to this address instead."),
    ] = None,
    outbox: Annotated[
        Path | None, typer.Option(help="Dry-run folder (default build/outbox).")
    ] = None,
    ledger: Annotated[
        Path | None, typer.Option(help="Ledger (default <private_dir>/mail_ledger.sqlite).")
    ] = None,
    host: Annotated[str | None, typer.Option(envvar="CWI_SMTP_HOST", help="SMTP server.")] = None,
    port: Annotated[int | None, typer.Option(envvar="CWI_SMTP_PORT", help="SMTP port.")] = None,
    security: Annotated[
        str,
        typer.Option(envvar="CWI_SMTP_SECURITY", help="starttls, tls, or plain (localhost only)."),
    ] = "starttls",
    ca_file: Annotated[
        Path | None, typer.Option(envvar="CWI_SMTP_CA_FILE", help="Extra CA certificate (PEM).")
    ] = None,
    sender: Annotated[
        str | None, typer.Option("--from", envvar="CWI_MAIL_FROM", help="From address.")
    ] = None,
    rate: Annotated[float, typer.Option(help="Seconds between two messages.")] = 1.0,
    retries: Annotated[int, typer.Option(help="Retries of a temporary failure.")] = 3,
    settings: SettingsOpt = None,
) -> None:
    """E-mail each LA's director their profile PDF (credentials: CWI_SMTP_USER/_PASSWORD)."""
    from cwi.mail.command import mail_cli

    code = mail_cli(
        _settings(settings),
        directors=directors,
        send=send,
        only=only or [],
        resend=resend or [],
        test_address=to_test_address,
        outbox=outbox,
        ledger_path=ledger,
        host=host,
        port=port,
        security=security,
        ca_file=ca_file,
        sender=sender,
        rate=rate,
        retries=retries,
    )
    raise typer.Exit(code)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder to write the demo region into.")] = Path(
        "data/demo"
    ),
    seed: Annotated[
        int, typer.Option(help="Random seed; same seed gives identical files.")
    ] = 20140501,
    las: Annotated[int, typer.Option(help="Number of fictional LAs.")] = 15,
    years: Annotated[
        str, typer.Option(help="Collection years, comma-separated.")
    ] = "2021,2022,2023",
    national: Annotated[
        bool, typer.Option(help="National scale (153 LAs, ~33,000 LSOAs) for benchmarks.")
    ] = False,
) -> None:
    """Generate the synthetic demo region in the statutory file formats."""
    from cwi.demo import DemoFolderError, generate

    try:
        generate(
            out, seed=seed, n_las=las, years=[int(y) for y in years.split(",")], national=national
        )
    except DemoFolderError as exc:
        typer.secho(f"DemoFolderError: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


@app.command()
def validate(
    directory: Annotated[
        Path, typer.Argument(help="One LA's extract folder (see data/README.md).")
    ],
    report: Annotated[
        Path | None, typer.Option(help="Write the validation report CSV here.")
    ] = None,
    settings: SettingsOpt = None,
) -> None:
    """Ingest and link one LA's extract; exit 0 (no errors), 1 (errors) or 2 (unreadable file)."""
    from cwi.ingest import validate_cli

    raise typer.Exit(validate_cli(directory, report, _settings(settings)))


@reference_app.command("fetch")
def reference_fetch(settings: SettingsOpt = None) -> None:
    """Download the public reference files into the cache, checking sha256 and size."""
    from cwi.reference import fetch_cli

    raise typer.Exit(fetch_cli(_settings(settings)))


@reference_app.command("use")
def reference_use(
    path: Annotated[Path, typer.Argument(help="Folder holding local copies of the files.")],
    settings: SettingsOpt = None,
) -> None:
    """Point the build at local copies of the reference files (offline machines)."""
    from cwi.reference import use_cli

    raise typer.Exit(use_cli(path, _settings(settings)))


@reference_app.command("check")
def reference_check(settings: SettingsOpt = None) -> None:
    """Check every configured reference file is present and readable."""
    from cwi.reference import check_cli

    raise typer.Exit(check_cli(_settings(settings)))


@app.command()
def scan(
    directory: Annotated[Path, typer.Argument(help="Folder of outputs to scan (e.g. _site).")],
    settings: SettingsOpt = None,
) -> None:
    """Scan built outputs for identifiers, postcodes, LSOA codes and small counts."""
    from cwi.leaks import scan_cli

    raise typer.Exit(scan_cli(directory, _settings(settings)))


@app.command()
def bench(
    settings: SettingsOpt = None,
    quick: Annotated[bool, typer.Option(help="Smaller sizes, for a smoke run.")] = False,
    only: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated sections: demo, linkage, models, build, marginal, naive, "
            "national, public (default: all but national)."
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json", help="JSON report (default <build_dir>/bench/bench.json; .md beside it)."
        ),
    ] = None,
    repeat: Annotated[
        int,
        typer.Option(
            min=1,
            help="Runs of the inputs-cached, nothing-changed and chapter-edit builds and of our "
            "LA outputs; the fastest is reported and every run named.",
        ),
    ] = 1,
) -> None:
    """Print performance figures against the speed goals (builds run in a copy; not a test)."""
    import sys

    from cwi.config import ROOT

    if str(ROOT) not in sys.path:  # benchmarks/ lives beside the package, not inside it
        sys.path.insert(0, str(ROOT))
    from benchmarks.run import run_bench
    from benchmarks.scenarios import parse_only

    try:
        sections = parse_only(only)
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    run_bench(_settings(settings), quick=quick, only=sections, json_path=json_out, repeat=repeat)


@interviews_app.command("summary")
def interviews_summary(
    source: Annotated[Path | None, typer.Argument(help="Coded segments (CSV or .qdpx).")] = None,
    settings: SettingsOpt = None,
) -> None:
    """Import coded segments, validate them against the scheme and print the summary tables."""
    from cwi.interviews import summary_cli

    raise typer.Exit(summary_cli(source, _settings(settings)))


if __name__ == "__main__":  # pragma: no cover
    app()
