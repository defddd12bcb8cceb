"""`cwi mail` against a real SMTP server (aiosmtpd) on 127.0.0.1.

Messages are checked as the server received them: recipient, one PDF attachment with the exact
bytes of that LA's profile, text and HTML alternatives. STARTTLS and login use a throw-away
self-signed certificate (openssl) that the client trusts through ``ca_file``.
"""

from __future__ import annotations

import email
import hashlib
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import time
from email import policy
from pathlib import Path

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cwi.config import ROOT
from cwi.mail import Ledger, SmtpConfig, plan_batch, run_batch
from cwi.mail.run import write_outbox
from cwi.mail.smtp import MailAuthError, NoStartTLSError, SmtpConfigError
from tests.conftest import cwi_command, env_with_venv

TEMPLATES = ROOT / "templates"
LAS = {
    "X09000001": ("Alex Fairweather", "Northfield & Vale"),
    "X09000002": ("Sam Underhill", "Eastmoor"),
    "X09000003": ("Jordan Oakenshaw", "Southbridge"),
    "X09000004": ("Morgan Rushbrook", "Westerby"),
}
USER, PASSWORD = "cwi", "correct horse battery staple"


class Inbox:
    """aiosmtpd handler keeping every accepted message; can refuse the first DATA with 451."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.fail_first: set[str] = set()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802, ANN201
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        la = msg["X-CWI-LA"]
        if la in self.fail_first:
            self.fail_first.discard(la)
            return "451 4.3.0 Try again later"
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 2.0.0 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed: cannot make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # not handled: the server replies 535


def _server(inbox: Inbox, certificate=None, **kwargs) -> Controller:  # noqa: ANN001
    if certificate is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*certificate)
        kwargs |= {"tls_context": ctx, "require_starttls": True, "authenticator": _authenticate}
        kwargs.setdefault("auth_require_tls", True)
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def tls_server(inbox: Inbox, certificate):  # noqa: ANN001, ANN201
    controller = _server(inbox, certificate)
    yield controller
    controller.stop()


@pytest.fixture
def plain_server(inbox: Inbox):  # noqa: ANN201
    controller = _server(inbox)
    yield controller
    controller.stop()


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """Tiny distinct fake PDFs, a directors' list and an empty ledger path."""
    pdf_dir = tmp_path / "pdf"
    pdf_dir.mkdir()
    for code, (_who, la) in LAS.items():
        (pdf_dir / f"{code}.pdf").write_bytes(
            b"%PDF-1.4\n% profile of " + la.encode() + b" " + code.encode() + b"\n%%EOF\n"
        )
    (pdf_dir / "report.pdf").write_bytes(b"%PDF-1.4\n% the regional report\n%%EOF\n")
    directors = tmp_path / "directors.csv"
    lines = ["la_code,name,email"] + [
        f"{code},{who},dcs@{code.lower()}.example.org" for code, (who, _la) in LAS.items()
    ]
    directors.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"base": tmp_path, "pdf": pdf_dir, "directors": directors, "ledger": tmp_path / "l.db"}


def _context() -> dict[str, dict[str, object]]:
    return {
        code: {"la_name": la, "region": "Demo region", "snapshot": "31 March 2023",
               "source": "Synthetic demo data", "synthetic": True}
        for code, (_who, la) in LAS.items()
    }  # fmt: skip


def _plan(project: dict[str, Path], ledger: Ledger, **kwargs):  # noqa: ANN202
    return plan_batch(
        project["directors"], project["pdf"], ledger, LAS, context=_context(), **kwargs
    )


def _tls_config(controller: Controller, certificate, password: str = PASSWORD) -> SmtpConfig:  # noqa: ANN001
    return SmtpConfig(
        "127.0.0.1", controller.port, "starttls", USER, password, ca_file=certificate[0]
    )


def _send(project, ledger, config, **kwargs):  # noqa: ANN001, ANN202
    plan = _plan(project, ledger, **{k: kwargs.pop(k) for k in ("resend", "only") if k in kwargs})
    return run_batch(
        plan, ledger, config, TEMPLATES, "CWI <cwi@example.org>", rate_seconds=0, **kwargs
    )


def _attachments(msg: email.message.EmailMessage) -> list[bytes]:
    return [part.get_content() for part in msg.iter_attachments()]


def test_every_la_receives_exactly_its_own_pdf_over_starttls(
    project, inbox, tls_server, certificate
):
    with Ledger(project["ledger"]) as ledger:
        result = _send(project, ledger, _tls_config(tls_server, certificate))
        rows = ledger.all()
    assert sorted(result.sent) == sorted(LAS)
    assert len(inbox.messages) == len(LAS)
    for rcpt, msg in inbox.messages:
        code = msg["X-CWI-LA"]
        assert rcpt == [f"dcs@{code.lower()}.example.org"]
        assert LAS[code][0] in msg["To"]
        pdfs = _attachments(msg)
        assert pdfs == [(project["pdf"] / f"{code}.pdf").read_bytes()]  # its own, nothing else
        assert next(msg.iter_attachments()).get_filename().endswith(f"{code}.pdf")
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert LAS[code][1] in text and "SYNTHETIC" in text
        assert LAS[code][1].replace("&", "&amp;") in html  # autoescaped in HTML only
    by_la = {r.la_code: r for r in rows}
    assert {r.status for r in rows} == {"sent"}
    for code, row in by_la.items():
        pdf = (project["pdf"] / f"{code}.pdf").read_bytes()
        assert row.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
        assert row.server_reply.startswith("250 ") and "accepted" in row.server_reply
    # A rerun sends nothing.
    with Ledger(project["ledger"]) as ledger:
        again = _send(project, ledger, _tls_config(tls_server, certificate))
    assert again.sent == [] and len(inbox.messages) == len(LAS)


def test_wrong_password_is_a_clear_error_and_marks_nothing_sent(
    project, inbox, tls_server, certificate
):
    with Ledger(project["ledger"]) as ledger:
        with pytest.raises(MailAuthError) as err:
            _send(project, ledger, _tls_config(tls_server, certificate, password="wrong"))
        assert ledger.all() == []
    message = str(err.value)
    assert "refused the user name or password" in message and "CWI_SMTP_PASSWORD" in message
    assert "wrong" not in message and PASSWORD not in message  # the secret is never echoed
    assert inbox.messages == []


def test_server_without_starttls_is_never_sent_to_in_plain_text(project, inbox, plain_server):
    config = SmtpConfig("127.0.0.1", plain_server.port, "starttls", USER, PASSWORD)
    with Ledger(project["ledger"]) as ledger:
        with pytest.raises(NoStartTLSError, match="does not offer STARTTLS"):
            _send(project, ledger, config)
        assert ledger.all() == []
    assert inbox.messages == []


def test_plain_smtp_is_refused_except_to_this_machine(monkeypatch):
    with pytest.raises(SmtpConfigError, match="only allowed to this machine"):
        SmtpConfig("smtp.example.org", 25, "plain").check()
    monkeypatch.setenv("CWI_SMTP_USER", "someone")
    monkeypatch.delenv("CWI_SMTP_PASSWORD", raising=False)
    with pytest.raises(SmtpConfigError, match="Set both"):
        SmtpConfig.from_env("smtp.example.org", 587)
    monkeypatch.setenv("CWI_SMTP_PASSWORD", "s3cret")
    config = SmtpConfig.from_env("smtp.example.org")
    assert config.port == 587 and config.password == "s3cret" and "s3cret" not in repr(config)


def test_temporary_refusal_is_retried_with_back_off_and_delivered_once(
    project, inbox, plain_server
):
    inbox.fail_first = {"X09000002"}
    waits: list[float] = []
    config = SmtpConfig("127.0.0.1", plain_server.port, "plain")
    with Ledger(project["ledger"]) as ledger:
        result = _send(project, ledger, config, sleep=waits.append, backoff_seconds=3)
    assert sorted(result.sent) == sorted(LAS)
    assert [m["X-CWI-LA"] for _r, m in inbox.messages].count("X09000002") == 1
    assert 3 in waits


def test_changed_pdf_is_reported_and_sent_again_only_with_resend(project, inbox, plain_server):
    config = SmtpConfig("127.0.0.1", plain_server.port, "plain")
    with Ledger(project["ledger"]) as ledger:
        _send(project, ledger, config, only=["X09000001"])
        (project["pdf"] / "X09000001.pdf").write_bytes(b"%PDF-1.4\n% a new version\n%%EOF\n")
        plan = _plan(project, ledger, only=["X09000001"])
        assert [i.action for i in plan.items] == ["changed"]
        assert any("--resend X09000001" in line for line in plan.report())
        assert _send(project, ledger, config, only=["X09000001"]).sent == []
        assert _send(project, ledger, config, resend=["X09000001"]).sent[0] == "X09000001"
    la1 = [m for _r, m in inbox.messages if m["X-CWI-LA"] == "X09000001"]
    assert len(la1) == 2 and _attachments(la1[1]) == [b"%PDF-1.4\n% a new version\n%%EOF\n"]


def test_directors_list_problems_are_reported(project):
    project["directors"].write_text(
        "la_code,name,email\n"
        "X09000001,Alex Fairweather,dcs@a.example.org\n"
        "X09000002,Sam Underhill,not-an-address\n"
        "X09000003,,dcs@c.example.org\n"
        "X09999999,Nobody,dcs@z.example.org\n"
        "bad,Someone,dcs@b.example.org\n",
        encoding="utf-8",
    )
    with Ledger(project["ledger"]) as ledger:
        plan = _plan(project, ledger)
    d = plan.directors
    assert list(d.recipients) == ["X09000001"]
    assert d.unknown_las == ["X09999999"]
    assert d.without_recipient == ["X09000002", "X09000003", "X09000004"]
    report = "\n".join(plan.report())
    assert "line 3: X09000002 has no valid e-mail" in report
    assert "line 4: X09000003 has no director's name" in report
    assert "bad is not an LA code" in report


def test_unconfirmed_delivery_is_never_retried_automatically(project):
    with Ledger(project["ledger"]) as ledger:
        ledger.begin("X09000003", "dcs@x09000003.example.org", "0" * 64, "<id@x>", test=False)
        plan = _plan(project, ledger)
    actions = {i.recipient.la_code: i.action for i in plan.items}
    assert actions["X09000003"] == "uncertain"
    assert sorted(c for c, a in actions.items() if a == "send") == [
        "X09000001", "X09000002", "X09000004",
    ]  # fmt: skip


def test_test_address_deliveries_do_not_count_as_sent(project, inbox, plain_server):
    config = SmtpConfig("127.0.0.1", plain_server.port, "plain")
    with Ledger(project["ledger"]) as ledger:
        plan = _plan(project, ledger, only=["X09000004"], test_address="me@example.org")
        run_batch(plan, ledger, config, TEMPLATES, "cwi@example.org", "me@example.org", 0)
        assert [i.action for i in _plan(project, ledger).items] == ["send"] * 4
    assert [r for r, _m in inbox.messages] == [["me@example.org"]]


def test_dry_run_writes_one_eml_per_la_with_its_pdf(project, tmp_path):
    with Ledger(project["ledger"]) as ledger:
        result = write_outbox(_plan(project, ledger), tmp_path / "outbox", TEMPLATES, "cwi@x.org")
    assert sorted(p.stem for p in result.written) == sorted(LAS)
    for path in result.written:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert _attachments(msg) == [(project["pdf"] / f"{path.stem}.pdf").read_bytes()]


def _cli_settings(project: dict[str, Path]) -> Path:
    base = project["base"]
    override = {
        "output": {"build_dir": str(base / "build"), "results_dir": str(base / "results"),
                   "pdf_dir": str(project["pdf"]), "site_dir": str(base / "site")},
        "data": {"private_dir": str(base / "private")},
    }  # fmt: skip
    path = base / "settings.yml"
    path.write_text(yaml.safe_dump(override), encoding="utf-8")
    return path


def _count_sent(ledger: Path) -> int:
    try:
        with sqlite3.connect(ledger) as db:
            return db.execute("SELECT count(*) FROM deliveries WHERE status='sent'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_crash_after_n_messages_then_rerun_delivers_each_la_exactly_once(
    project, inbox, plain_server
):
    settings = _cli_settings(project)
    ledger = project["base"] / "private" / "mail_ledger.sqlite"
    args = cwi_command() + [
        "mail", "--send", "--directors", str(project["directors"]), "--security", "plain",
        "--host", "127.0.0.1", "--port", str(plain_server.port), "--from", "cwi@example.org",
    ]  # fmt: skip
    env = env_with_venv() | {"CWI_SETTINGS": str(settings)}
    env.pop("CWI_SMTP_USER", None), env.pop("CWI_SMTP_PASSWORD", None)
    proc = subprocess.Popen([*args, "--rate", "1.5"], cwd=ROOT, env=env)
    deadline, sent = time.monotonic() + 60, 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            sent = _count_sent(ledger)
            if sent >= 2:
                proc.send_signal(signal.SIGKILL)  # a crash: no clean-up runs
                break
            time.sleep(0.02)
    finally:
        proc.wait(timeout=30)
    assert sent == 2 and proc.returncode == -signal.SIGKILL
    assert len(inbox.messages) == 2
    rerun = subprocess.run(
        [*args, "--rate", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "already sent" in rerun.stdout
    received = sorted(m["X-CWI-LA"] for _r, m in inbox.messages)
    assert received == sorted(LAS)  # each LA exactly once
    for _rcpt, msg in inbox.messages:
        assert _attachments(msg) == [(project["pdf"] / f"{msg['X-CWI-LA']}.pdf").read_bytes()]


@pytest.mark.slow
def test_dry_run_on_the_demo_build_attaches_each_las_real_pdf(built, tmp_path):
    outbox = tmp_path / "outbox"
    env = env_with_venv() | {"CWI_SETTINGS": str(built["settings"])}
    proc = subprocess.run(
        cwi_command() + ["mail", "--outbox", str(outbox), "--ledger", str(tmp_path / "l.db")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing was sent" in proc.stdout
    pdfs = sorted(p for p in (built["site"] / "pdf").glob("*.pdf") if p.stem != "report")
    emls = sorted(outbox.glob("*.eml"))
    assert [p.stem for p in emls] == [p.stem for p in pdfs] and len(emls) == 15
    for eml in emls:
        msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert _attachments(msg) == [(built["site"] / "pdf" / f"{eml.stem}.pdf").read_bytes()]
        assert msg["To"].addresses[0].addr_spec.startswith("dcs@")
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
