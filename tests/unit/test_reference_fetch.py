"""`cwi reference fetch | use | check` against a real HTTP server on 127.0.0.1 (synthetic files)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest
import yaml

from cwi.config import load_settings
from cwi.reference import fetch_cli, use_cli
from cwi.reference.fetch import check, check_cli, fetch, use
from cwi.reference.sources import Source, load_sources, locate


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single-range support (http.server has none); records Range headers."""

    ranges: list[str] = []

    def log_message(self, *args):  # silence
        pass

    def do_GET(self):  # noqa: N802
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not header or not path.is_file():
            return super().do_GET()
        type(self).ranges.append(header)
        data = path.read_bytes()
        start = int(header.split("=")[1].split("-")[0])
        if start >= len(data):
            self.send_response(416)
            self.end_headers()
            return None
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])
        return None


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(RangeHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.ranges = []
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _source(name: str, file: str, data: bytes, required: bool = True) -> Source:
    return Source(name=name, file=file, role=name, url=None, page="https://example.invalid/",
                  publisher="Test", licence="OGL", official_form=True, required=required,
                  size=len(data), sha256=hashlib.sha256(data).hexdigest())  # fmt: skip


@pytest.fixture
def settings(tmp_path):
    return load_settings().with_overrides(
        data={
            "reference_dir": str(tmp_path / "refdir"),
            "reference_cache": str(tmp_path / "cache"),
        }
    )


def test_download_verify_and_skip_when_present(server, settings):
    root, base = server
    data = b"lsoa11_code,x\n" * 500
    (root / "lookups").mkdir()
    (root / "lookups" / "a.csv").write_bytes(data)
    src = [_source("a", "lookups/a.csv", data)]
    report = fetch(settings, src, mirror=base)
    assert report.downloaded == ["a"] and not report.failed
    assert (Path(settings.reference_cache) / "lookups" / "a.csv").read_bytes() == data
    again = fetch(settings, src, mirror=base)
    assert again.present == ["a"] and again.downloaded == []


def test_resume_partial_download_with_range(server, settings):
    root, base = server
    data = bytes(range(256)) * 400
    (root / "big.bin").write_bytes(data)
    part = Path(settings.reference_cache) / "big.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:30000])
    report = fetch(settings, [_source("big", "big.bin", data)], mirror=base)
    assert report.downloaded == ["big"]
    assert RangeHandler.ranges == ["bytes=30000-"]
    assert (Path(settings.reference_cache) / "big.bin").read_bytes() == data
    assert not part.exists()


def test_corrupted_and_missing_files_give_clear_messages(server, settings, capsys):
    root, base = server
    good = b"x" * 1000
    (root / "bad.csv").write_bytes(b"y" * 1000)  # same size, wrong bytes
    srcs = [_source("bad", "bad.csv", good), _source("gone", "gone.csv", good)]
    report = fetch(settings, srcs, mirror=base)
    assert "sha256" in report.failed["bad"] and "HTTP 404" in report.failed["gone"]
    assert not (Path(settings.reference_cache) / "bad.csv").exists()
    assert not (Path(settings.reference_cache) / "bad.csv.part").exists()


def test_fetch_cli_offline_explains_without_traceback(settings, capsys, monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CWI_REFERENCE_MIRROR", f"http://127.0.0.1:{port}")
    code = fetch_cli(settings)
    err = capsys.readouterr().err
    assert code == 2
    assert "offline" in err and "cwi reference use FOLDER" in err and "Traceback" not in err


def test_fetch_cli_reports_sha_mismatch_naming_file(server, settings, capsys, monkeypatch):
    root, base = server
    entry = load_sources()[0]
    target = root / entry.file
    target.parent.mkdir(parents=True)
    target.write_bytes(b"0" * entry.size)
    monkeypatch.setenv("CWI_REFERENCE_MIRROR", base)
    code = fetch_cli(settings)
    err = capsys.readouterr().err
    assert code == 1
    line = next(x for x in err.splitlines() if entry.name in x)
    assert "sha256" in line and "cwi reference fetch" in line and "cwi reference use" in line


def test_use_records_verified_copies_and_locate_finds_them(tmp_path, settings, capsys):
    data = b"abc" * 100
    folder = tmp_path / "usb" / "deep"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(data)
    (folder / "b.csv").write_bytes(b"corrupt")
    srcs = [_source("a", "lookups/a.csv", data), _source("b", "lookups/b.csv", data)]
    recorded, rejected = use(tmp_path / "usb", settings, srcs)
    assert recorded == {"a": (folder / "a.csv").resolve()}
    assert "b" in rejected and "bytes" in rejected["b"]
    saved = yaml.safe_load((Path(settings.reference_cache) / "local_paths.yml").read_text())
    assert saved["files"]["a"].endswith("a.csv")
    assert locate(srcs[0], settings) == (folder / "a.csv").resolve()
    assert locate(srcs[1], settings) is None
    rows = {r["name"]: r["status"] for r in check(settings, srcs)}
    assert rows == {"a": "ok", "b": "missing"}


def test_use_cli_and_check_cli_exit_codes(tmp_path, settings, capsys):
    assert use_cli(tmp_path / "nowhere", settings) == 2
    (tmp_path / "empty").mkdir()
    assert use_cli(tmp_path / "empty", settings) == 1
    assert check_cli(settings) == 1  # nothing present: required files missing
    assert "needed for real geography" in capsys.readouterr().err
