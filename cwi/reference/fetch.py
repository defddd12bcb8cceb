"""``cwi reference fetch | use | check``: get the public reference files, verified.

``fetch`` downloads every entry of ``sources.yml`` that has an address into
``data.reference_cache/<file>``: from the publisher's ``url``, or from a mirror serving the same
layout when ``data.reference_mirror`` (settings) or ``$CWI_REFERENCE_MIRROR`` is set. Downloads go to
``<file>.part`` and resume with an HTTP ``Range`` request after an interruption; the finished file
must match the pinned size and sha256 before it replaces any earlier copy.

``use FOLDER`` looks in FOLDER (recursively) for each registry file, by its name, verifies size and
sha256, and records the paths in ``<data.reference_cache>/local_paths.yml`` (git-ignored, per
machine); the build then reads those copies. ``check`` reports, for each file, where it is found and
whether it verifies.

Exit codes: 0 all fine; 1 a file failed (missing, corrupted, HTTP error); 2 offline.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from cwi.reference.sources import (
    Source,
    load_sources,
    local_paths_file,
    locate,
    read_local_paths,
    sha256_of,
    verify,
)

if TYPE_CHECKING:
    from cwi.config import Settings

CHUNK = 1 << 16


class OfflineError(OSError):
    """The download host could not be reached at all."""


@dataclass
class FetchReport:
    """What ``fetch`` did, per source name."""

    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    manual: list[str] = field(default_factory=list)
    optional_missing: list[str] = field(default_factory=list)
    offline: bool = False
    unpinned: dict[str, str] = field(default_factory=dict)


def _say(msg: str, err: bool = False) -> None:
    print(msg, file=sys.stderr if err else sys.stdout, flush=True)


def mirror_of(settings: Settings) -> str | None:
    """Base URL of a mirror of the reference files, from settings or ``$CWI_REFERENCE_MIRROR``."""
    value = settings.reference_mirror or os.environ.get("CWI_REFERENCE_MIRROR")
    return str(value).rstrip("/") if value else None


def _is_offline(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", exc)
    return isinstance(
        reason, socket.gaierror | ConnectionRefusedError | ConnectionResetError | TimeoutError
    ) or isinstance(exc, socket.timeout | TimeoutError)


def download(url: str, dest: Path, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest``, resuming ``dest.part`` with an HTTP Range request.

    Parameters
    ----------
    url : str
        Address of the file.
    dest : Path
        Final path; the data are written to ``dest`` + ``.part`` and moved when complete.
    timeout : float
        Socket timeout in seconds.

    Returns
    -------
    Path
        The ``.part`` file holding the complete download (the caller verifies and moves it).

    Raises
    ------
    OfflineError
        If the host cannot be reached.
    urllib.error.HTTPError
        For an HTTP error other than 416 on a complete partial file.
    """
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "cwi-reference-fetch"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - https/http only
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is already complete
            return part
        raise
    except (urllib.error.URLError, OSError) as exc:
        if _is_offline(exc):
            raise OfflineError(str(getattr(exc, "reason", exc))) from exc
        raise
    with response:
        mode = "ab" if have and response.status == 206 else "wb"
        with part.open(mode) as handle:
            shutil.copyfileobj(response, handle, CHUNK)
    return part


def fetch(
    settings: Settings, sources: list[Source] | None = None, mirror: str | None = None,
    timeout: float = 30.0,
) -> FetchReport:  # fmt: skip
    """Download and verify every reference file that has an address.

    Parameters
    ----------
    settings : Settings
        Gives ``reference_cache`` (and ``reference_mirror``).
    sources : list of Source, optional
        Registry entries (default: ``sources.yml``).
    mirror : str, optional
        Base URL serving the registry layout; overrides settings and environment.
    timeout : float
        Socket timeout in seconds.

    Returns
    -------
    FetchReport
        What was downloaded, already present, failed, or must be obtained by hand.
    """
    sources = sources if sources is not None else load_sources()
    mirror = mirror or mirror_of(settings)
    cache = Path(settings.reference_cache)
    report = FetchReport()
    for src in sources:
        dest = cache / src.file
        if dest.is_file() and verify(dest, src) is None:
            report.present.append(src.name)
            continue
        url = f"{mirror}/{src.file}" if mirror else src.url
        if not url:
            report.manual.append(src.name)
            continue
        if report.offline:
            report.failed[src.name] = "not tried: offline"
            continue
        try:
            part = download(url, dest, timeout=timeout)
        except OfflineError:
            report.offline = True
            report.failed[src.name] = f"could not reach {url.split('/')[2]}"
            continue
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and not src.required and src.sha256 is None:
                report.optional_missing.append(src.name)
            else:
                report.failed[src.name] = f"HTTP {exc.code} from {url}"
            continue
        except (urllib.error.URLError, OSError, ValueError) as exc:
            report.failed[src.name] = f"download failed ({type(exc).__name__}: {exc})"
            continue
        problem = verify(part, src)
        if problem:
            part.unlink(missing_ok=True)  # a wrong file is never resumed
            report.failed[src.name] = f"the download {problem}"
            continue
        part.replace(dest)
        if src.sha256 is None:
            report.unpinned[src.name] = sha256_of(dest)
        report.downloaded.append(src.name)
    return report


def fetch_cli(settings: Settings) -> int:
    """Run ``cwi reference fetch`` and print a short report; return the exit code."""
    report = fetch(settings)
    cache = Path(settings.reference_cache)
    for name in report.downloaded:
        _say(f"downloaded  {name}")
    if report.present:
        _say(f"already in the cache and verified: {len(report.present)} file(s)")
    for name, sha in report.unpinned.items():
        _say(f"note: {name} has no pinned checksum; it downloaded with sha256 {sha}. Pin it in "
             "cwi/reference/sources.yml.")  # fmt: skip
    for name in report.optional_missing:
        _say(f"optional    {name}: not available from this address (skipped)")
    for name, why in report.failed.items():
        _say(
            f"FAILED      {name}: {why}. Run `cwi reference fetch` again; if it fails again, "
            f"download the file from the page in cwi/reference/sources.yml into {cache} or run "
            "`cwi reference use FOLDER` on a folder holding a good copy.",
            err=True,
        )
    if report.manual:
        _say(
            f"{len(report.manual)} file(s) have no direct official download in the form the readers "
            "use (" + ", ".join(report.manual) + "). Set data.reference_mirror (or "
            "$CWI_REFERENCE_MIRROR) to a mirror, or copy them and run `cwi reference use FOLDER`."
        )
    if report.offline:
        _say(
            "This machine could not reach the download host: it looks offline. Copy the reference "
            "files from a machine with internet access (same layout as cwi/reference/sources.yml) "
            "and run `cwi reference use FOLDER`.",
            err=True,
        )
        return 2
    return 1 if report.failed else 0


def use(
    path: Path | str, settings: Settings, sources: list[Source] | None = None
) -> tuple[dict[str, Path], dict[str, str]]:
    """Find the registry files under ``path``, verify them and record them for the build.

    Parameters
    ----------
    path : Path or str
        Folder holding local copies (any layout: files are matched by name).
    settings : Settings
        Gives ``reference_cache`` where ``local_paths.yml`` is written.
    sources : list of Source, optional
        Registry entries (default: ``sources.yml``).

    Returns
    -------
    (dict, dict)
        Recorded ``{name: path}`` and rejected ``{name: reason}``.
    """
    folder = Path(path).resolve()
    sources = sources if sources is not None else load_sources()
    by_name: dict[str, list[Path]] = {}
    for found in folder.rglob("*"):
        if found.is_file():
            by_name.setdefault(found.name, []).append(found)
    recorded, rejected = {}, {}
    for src in sources:
        candidates = sorted(by_name.get(src.basename, []), key=lambda p: len(p.parts))
        for cand in candidates:
            problem = verify(cand, src)
            if problem is None:
                recorded[src.name] = cand
                break
            rejected[src.name] = f"{cand} {problem}"
        if src.name in recorded:
            rejected.pop(src.name, None)
    if recorded:
        out = local_paths_file(settings)
        out.parent.mkdir(parents=True, exist_ok=True)
        merged = {**{k: str(v) for k, v in read_local_paths(settings).items()},
                  **{k: str(v) for k, v in recorded.items()}}  # fmt: skip
        out.write_text(
            "# Written by `cwi reference use`: local copies of the reference files on this\n"
            "# machine (git-ignored). Delete this file to forget them.\n"
            + yaml.safe_dump({"files": merged}, sort_keys=True),
            encoding="utf-8",
        )
    return recorded, rejected


def use_cli(path: Path, settings: Settings) -> int:
    """Run ``cwi reference use PATH``; return 0 if at least one file was recorded."""
    if not Path(path).is_dir():
        _say(f"{path} is not a folder. Give the folder that holds the reference files.", err=True)
        return 2
    recorded, rejected = use(path, settings)
    for name, where in recorded.items():
        _say(f"using       {name}: {where}")
    for name, why in rejected.items():
        _say(f"REJECTED    {name}: {why}. Replace it with the official file (see "
             "cwi/reference/sources.yml).", err=True)  # fmt: skip
    if not recorded:
        _say(
            f"No reference file named in cwi/reference/sources.yml was found under {path}.",
            err=True,
        )
        return 1
    _say(f"Recorded {len(recorded)} file(s) in {local_paths_file(settings)}.")
    return 1 if rejected else 0


def check(settings: Settings, sources: list[Source] | None = None) -> list[dict[str, str]]:
    """Report each registry file: where it is and whether it verifies.

    Returns
    -------
    list of dict
        ``name, role, required, status (ok | missing | corrupted), path, detail`` per file.
    """
    sources = sources if sources is not None else load_sources()
    local = read_local_paths(settings)
    rows = []
    for src in sources:
        path = locate(src, settings, local)
        if path is None:
            rows.append({"name": src.name, "role": src.role, "required": str(src.required),
                         "status": "missing", "path": "", "detail": ""})  # fmt: skip
            continue
        problem = verify(path, src)
        rows.append({"name": src.name, "role": src.role, "required": str(src.required),
                     "status": "corrupted" if problem else "ok", "path": str(path),
                     "detail": problem or ""})  # fmt: skip
    return rows


def check_cli(settings: Settings) -> int:
    """Run ``cwi reference check``: 0 if every required role has a verified file, else 1."""
    rows = check(settings)
    roles_ok = {r["role"] for r in rows if r["status"] == "ok"}
    bad = 0
    for row in rows:
        line = f"{row['status']:9s} {row['name']:28s} {row['path'] or '-'}"
        if row["status"] == "corrupted":
            bad += 1
            _say(f"{line}: {row['detail']}. Delete it and run `cwi reference fetch`, or replace "
                 "it with a good copy.", err=True)  # fmt: skip
        elif (
            row["status"] == "missing"
            and row["required"] == "True"
            and row["role"] not in roles_ok
        ):
            bad += 1
            _say(f"{line}: needed for real geography. Run `cwi reference fetch` or "
                 "`cwi reference use FOLDER`.", err=True)  # fmt: skip
        else:
            _say(line)
    return 1 if bad else 0
