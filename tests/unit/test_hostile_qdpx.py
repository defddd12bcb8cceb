"""Issue 12 item 8: a hostile ``.qdpx`` reads nothing outside itself and cannot fill memory."""

from __future__ import annotations

import struct
import zipfile

import pytest

from cwi.interviews import qdpx
from cwi.interviews.qdpx import NS, QdpxError, read_qdpx

SECRET = "e3b0c44298fc1c149afbf4c8996fb924secretkey"


def _project(sources: str, base: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="p" '
        f'basePath="{base}"><Users><User guid="U" name="c1"/></Users><CodeBook><Codes>'
        f'<Code guid="C" name="THR-01" isCodable="true"/></Codes></CodeBook><Sources>{sources}'
        "</Sources></Project>"
    ).encode()


def _source(path: str, start: str = "0", end: str = "5") -> str:
    return (
        f'<TextSource guid="S" name="INT-A" plainTextPath="{path}"><PlainTextSelection '
        f'guid="P" startPosition="{start}" endPosition="{end}" creatingUser="U"><Coding guid="G">'
        '<CodeRef targetGUID="C"/></Coding></PlainTextSelection></TextSource>'
    )


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_relative_source_with_hostile_base_path_is_not_read(tmp_path):
    secret = tmp_path / "private" / "pseudo.key"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    user = tmp_path / "interviews"
    user.mkdir()
    archive = _zip(
        user / "p.qdpx",
        {"project.qde": _project(_source("relative://pseudo.key"), base=str(secret.parent))},
    )
    with pytest.raises(QdpxError, match="outside the archive"):
        read_qdpx(archive)
    with pytest.raises(QdpxError, match="not a file inside"):
        read_qdpx(archive, sources_dir=user)  # basePath is ignored: only the named folder
    escape = _zip(
        user / "q.qdpx", {"project.qde": _project(_source("relative://../private/pseudo.key"))}
    )
    with pytest.raises(QdpxError, match="not a file inside"):
        read_qdpx(escape, sources_dir=user)
    absolute = _zip(user / "r.qdpx", {"project.qde": _project(_source(secret.as_uri()))})
    with pytest.raises(QdpxError, match="not read"):
        read_qdpx(absolute, sources_dir=user)


def test_relative_source_inside_the_named_folder_is_read(tmp_path):
    (tmp_path / "INT-A.txt").write_text("Hello world")
    archive = _zip(tmp_path / "p.qdpx", {"project.qde": _project(_source("relative://INT-A.txt"))})
    coded = read_qdpx(archive, sources_dir=tmp_path)
    assert coded.transcripts["INT-A"] == "Hello world"
    assert coded.segments["text"].tolist() == ["Hello"]


def test_internal_path_cannot_leave_sources(tmp_path):
    archive = _zip(
        tmp_path / "p.qdpx",
        {"project.qde": _project(_source("internal://../project.qde")), "sources/x.txt": b"x"},
    )
    with pytest.raises(QdpxError, match="leaves the archive"):
        read_qdpx(archive)


def test_many_members_within_the_header_limit_cannot_fill_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(qdpx, "MAX_MEMBER_BYTES", 2_000_000)
    monkeypatch.setattr(qdpx, "MAX_ARCHIVE_BYTES", 3_000_000)
    sources = "".join(
        _source(f"internal://s{i}.txt").replace(
            'guid="S" name="INT-A"', f'guid="S{i}" name="I{i}"'
        )
        for i in range(5)
    )
    members = {"project.qde": _project(sources)}
    members |= {f"sources/s{i}.txt": b"a" * 1_000_000 for i in range(5)}
    archive = _zip(tmp_path / "bomb.qdpx", members)
    assert archive.stat().st_size < 50_000  # 5 MB of text in a few KB
    with pytest.raises(QdpxError, match="expands to more than"):
        read_qdpx(archive)


def _forge_size(path, member: str, size: int) -> None:
    """Rewrite the uncompressed size of ``member`` in both its local and central headers."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    local = data.find(b"PK\x03\x04" + b"")
    while local >= 0:
        n = struct.unpack_from("<H", data, local + 26)[0]
        if bytes(data[local + 30 : local + 30 + n]) == name:
            struct.pack_into("<I", data, local + 22, size)
            break
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        n = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + n]) == name:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("forged", [10, 50_000_000])
def test_forged_sizes_give_a_clear_error(tmp_path, forged):
    archive = _zip(
        tmp_path / "p.qdpx",
        {"project.qde": _project(_source("internal://a.txt")), "sources/a.txt": b"b" * 100_000},
    )
    _forge_size(archive, "sources/a.txt", forged)
    with pytest.raises(
        QdpxError, match="cannot be decompressed|expands to more than|forged or damaged"
    ):
        read_qdpx(archive)


def test_forged_positions_give_a_clear_error(tmp_path):
    archive = _zip(
        tmp_path / "p.qdpx",
        {"project.qde": _project(_source("internal://a.txt", start="x")), "sources/a.txt": b"abc"},
    )
    with pytest.raises(QdpxError, match="not a whole number"):
        read_qdpx(archive)
