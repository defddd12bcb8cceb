"""Write and read REFI-QDA project exchange files (``.qdpx``).

A ``.qdpx`` file is a zip archive holding ``project.qde`` (XML in the namespace
``urn:QDA-XML:project:1.0``, REFI-QDA Project schema 1.0) and, under ``sources/``, the plain text
of each text source (referenced as ``plainTextPath="internal://<file>"``). NVivo, ATLAS.ti,
MAXQDA and QualCoder read and write it.

What this module uses of the standard:

- ``Users/User@guid,@name``: coders;
- ``CodeBook/Codes/Code@guid,@name,@isCodable`` (nested; themes are written as non-codable
  parent codes);
- ``Variables/Variable`` with ``VariableValue`` on each ``TextSource`` (or on a ``Case`` that
  references the source with ``SourceRef``): ``la`` (pseudonym) and ``role``;
- ``Sources/TextSource@name`` with ``PlainTextContent`` or ``plainTextPath``, and its
  ``PlainTextSelection@startPosition,@endPosition,@creatingUser`` each holding ``Coding``
  elements with ``CodeRef@targetGUID``.

Positions are character (code point) offsets into the plain text, end exclusive.
"""

from __future__ import annotations

import itertools
import uuid
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import pandas as pd
from lxml import etree

from cwi.interviews.scheme import Scheme
from cwi.interviews.segments import CodedSet, normalise_segments

NS = "urn:QDA-XML:project:1.0"
_Q = f"{{{NS}}}"
#: Namespace for the deterministic GUIDs this project writes.
CWI_NAMESPACE = uuid.UUID("6f1d5a52-3c1e-4f0e-9a57-1c0c9d0f2b11")
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)
#: Decompressed-size limits: one member, and the whole archive (counted, never read from headers).
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024


class QdpxError(ValueError):
    """A ``.qdpx`` file cannot be read; the message says why and what to do."""


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(CWI_NAMESPACE, "/".join(str(p) for p in parts))).upper()


def _el(parent: etree._Element, tag: str, **attrs: object) -> etree._Element:
    return etree.SubElement(
        parent, _Q + tag, {k: str(v) for k, v in attrs.items() if v is not None}
    )


def build_project_xml(
    segments: pd.DataFrame,
    transcripts: dict[str, str],
    interviews: pd.DataFrame | None = None,
    scheme: Scheme | None = None,
    name: str = "CWI interviews",
    description: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Build ``project.qde`` and the source text files of a REFI-QDA project.

    Parameters
    ----------
    segments : pandas.DataFrame
        Canonical segments with ``interview_id``, ``coder``, ``code`` (or ``code_raw``),
        ``start`` and ``end``.
    transcripts : dict of str to str
        Plain text of each interview, by interview id.
    interviews : pandas.DataFrame, optional
        ``interview_id``, ``la``, ``role``; written as source variables.
    scheme : Scheme, optional
        When given, every scheme theme and code is written to the codebook (labels, definitions).
    name : str
        Project name.
    description : str, optional
        Project description.

    Returns
    -------
    (bytes, dict)
        The XML document and ``{zip member name: text}`` for ``sources/``.
    """
    seg = normalise_segments(segments)
    seg["code"] = seg["code"].fillna(seg["code_raw"])
    if seg[["start", "end"]].isna().any().any():
        raise QdpxError("Every segment needs start and end positions to be written to .qdpx.")
    root = etree.Element(_Q + "Project", nsmap={None: NS})
    root.set("name", name)
    root.set("origin", "cwi.interviews")

    users = sorted(seg["coder"].dropna().unique())
    user_guid = {u: _guid("user", u) for u in users}
    if users:
        users_el = _el(root, "Users")
        for u in users:
            _el(users_el, "User", guid=user_guid[u], name=u)

    codebook = _el(root, "CodeBook")
    codes_el = _el(codebook, "Codes")
    code_guid: dict[str, str] = {}
    if scheme is not None:
        for theme in scheme.themes.itertuples():
            t_el = _el(
                codes_el,
                "Code",
                guid=_guid("theme", theme.theme_id),
                name=theme.theme,
                isCodable="false",
            )
            for code in scheme.codes[scheme.codes["theme_id"] == theme.theme_id].itertuples():
                code_guid[code.code] = _guid("code", code.code)
                c_el = _el(
                    t_el,
                    "Code",
                    guid=code_guid[code.code],
                    name=f"{code.code} {code.label}",
                    isCodable="true",
                )
                etree.SubElement(c_el, _Q + "Description").text = code.definition
    for code in sorted(set(seg["code"].dropna()) - set(code_guid)):
        code_guid[code] = _guid("code", code)
        _el(codes_el, "Code", guid=code_guid[code], name=code, isCodable="true")
    if not len(codes_el):
        codebook.remove(codes_el)
        root.remove(codebook)

    meta = None
    if interviews is not None and not interviews.empty:
        meta = interviews.drop_duplicates("interview_id").set_index("interview_id")
        vars_el = _el(root, "Variables")
        for var in ("la", "role"):
            _el(vars_el, "Variable", guid=_guid("variable", var), name=var, typeOfVariable="Text")

    by_interview: dict[str, list[tuple[str, int, int, str]]] = {}
    for iid, coder, start, end, code in sorted(
        zip(
            seg["interview_id"],
            seg["coder"],
            seg["start"].astype(int),
            seg["end"].astype(int),
            seg["code"],
            strict=True,
        )
    ):
        by_interview.setdefault(iid, []).append((coder, start, end, code))
    sources_el = _el(root, "Sources")
    files: dict[str, str] = {}
    ids = sorted(set(transcripts) | set(seg["interview_id"].dropna()))
    for interview in ids:
        if interview not in transcripts:
            raise QdpxError(f"No transcript text for interview {interview}; .qdpx needs the text.")
        src_guid = _guid("source", interview)
        member = f"{src_guid}.txt"
        files[f"sources/{member}"] = transcripts[interview]
        src = _el(
            sources_el,
            "TextSource",
            guid=src_guid,
            name=interview,
            plainTextPath=f"internal://{member}",
        )
        rows = by_interview.get(interview, [])
        for (coder, start, end), group in itertools.groupby(
            rows, key=lambda r: (r[0], r[1], r[2])
        ):
            sel = _el(
                src,
                "PlainTextSelection",
                guid=_guid("selection", interview, coder, start, end),
                name=transcripts[interview][start:end][:60],
                startPosition=start,
                endPosition=end,
                creatingUser=user_guid[coder],
            )
            for *_, code in group:
                coding = _el(
                    sel,
                    "Coding",
                    guid=_guid("coding", interview, coder, start, end, code),
                    creatingUser=user_guid[coder],
                )
                _el(coding, "CodeRef", targetGUID=code_guid[code])
        if meta is not None and interview in meta.index:
            for var in ("la", "role"):
                value = meta.at[interview, var]
                if pd.notna(value):
                    vv = _el(src, "VariableValue")
                    _el(vv, "VariableRef", targetGUID=_guid("variable", var))
                    etree.SubElement(vv, _Q + "TextValue").text = str(value)
    if description:
        etree.SubElement(root, _Q + "Description").text = description
    xml = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml, files


def write_qdpx(
    path: Path | str,
    segments: pd.DataFrame,
    transcripts: dict[str, str],
    interviews: pd.DataFrame | None = None,
    scheme: Scheme | None = None,
    name: str = "CWI interviews",
    description: str | None = None,
) -> Path:
    """Write a REFI-QDA ``.qdpx`` project (deterministic bytes for the same input).

    Parameters
    ----------
    path : Path or str
        Output file (``.qdpx``).
    segments, transcripts, interviews, scheme, name, description
        As for :func:`build_project_xml`.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    xml, files = build_project_xml(segments, transcripts, interviews, scheme, name, description)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, data in [("project.qde", xml), *sorted(files.items())]:
            info = zipfile.ZipInfo(member, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


class _Budget:
    """Decompressed bytes still allowed for one archive (members are read against it)."""

    def __init__(self, total: int) -> None:
        self.left = total


def _read_member(zf: zipfile.ZipFile, member: str, budget: _Budget, archive: str) -> bytes:
    """Decompress one member, counting the real bytes (the header's sizes are not trusted).

    Reading stops one byte past :data:`MAX_MEMBER_BYTES` (or what is left of
    :data:`MAX_ARCHIVE_BYTES`), so a forged header or a zip bomb cannot fill memory.
    """
    cap = min(MAX_MEMBER_BYTES, budget.left)
    chunks: list[bytes] = []
    size = 0
    try:
        with zf.open(member) as handle:
            while True:
                chunk = handle.read(min(1 << 20, cap + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > cap:
                    raise QdpxError(
                        f"{archive}: {member} expands to more than {cap:,} bytes (the limit for "
                        f"one .qdpx member is {MAX_MEMBER_BYTES:,}, for the whole archive "
                        f"{MAX_ARCHIVE_BYTES:,}); it is damaged or not a REFI-QDA export."
                    )
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, NotImplementedError) as exc:
        raise QdpxError(
            f"{archive}: {member} cannot be decompressed ({exc}); its stored sizes or checksum "
            "do not match its content. Export the project again as REFI-QDA."
        ) from exc
    stated = zf.getinfo(member).file_size
    if size != stated:
        raise QdpxError(
            f"{archive}: {member} states {stated:,} bytes but holds {size:,}; the archive's sizes "
            "are forged or damaged. Export the project again as REFI-QDA."
        )
    budget.left -= size
    return b"".join(chunks)


def _internal_member(ptp: str, names: set[str], archive: str) -> str:
    """The archive member an ``internal://`` path names; never anything outside ``sources/``."""
    rel = PurePosixPath(ptp[len("internal://") :])
    if rel.is_absolute() or ".." in rel.parts or "\\" in str(rel) or not rel.parts:
        raise QdpxError(
            f"{archive}: source path {ptp!r} leaves the archive's sources/ folder; refusing it."
        )
    member = f"sources/{rel}"
    if member not in names:
        raise QdpxError(f"{archive}: source {ptp!r} is not in the archive.")
    return member


def _relative_source(ptp: str, sources_dir: Path | None, archive: str) -> str:
    """Text of a ``relative://`` source, only from inside the folder the user named."""
    rel = ptp[len("relative://") :]
    if sources_dir is None:
        raise QdpxError(
            f"{archive}: source {ptp!r} is stored outside the archive. Export the project with "
            "its sources embedded (internal://), or put the source files in the folder you "
            "import from; the project's own basePath is never followed."
        )
    folder = Path(sources_dir).resolve()
    candidate = (folder / rel).resolve()
    if not candidate.is_relative_to(folder) or not candidate.is_file():
        raise QdpxError(
            f"{archive}: source {ptp!r} is not a file inside {folder}; sources outside the "
            "folder you import from are not read."
        )
    if candidate.stat().st_size > MAX_MEMBER_BYTES:
        raise QdpxError(f"{archive}: source {candidate.name} is larger than the limit.")
    return candidate.read_text(encoding="utf-8-sig")


def _position(sel: etree._Element, attr: str, archive: str) -> int:
    value = sel.get(attr)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise QdpxError(
            f"{archive}: selection {sel.get('guid')} has {attr}={value!r}, not a whole number."
        ) from exc


def read_qdpx(path: Path | str, sources_dir: Path | str | None = None) -> CodedSet:
    """Read text codings from a REFI-QDA ``.qdpx`` project.

    Sources are read from the archive (``internal://``, ``sources/`` only) or, for
    ``relative://`` sources, only from inside ``sources_dir``; the project's ``basePath`` is never
    followed. Decompressed sizes are counted, not taken from the zip headers.

    Parameters
    ----------
    path : Path or str
        The ``.qdpx`` archive.
    sources_dir : Path or str, optional
        The folder the user named for external (``relative://``) sources.

    Returns
    -------
    CodedSet
        One segment row per ``Coding`` of a ``PlainTextSelection``; ``code_raw`` is the code's
        name, ``coder`` the name of the creating user (the coding's, else the selection's),
        ``text`` the selected text when the source text is in the archive; transcripts and
        interview metadata (``la`` / ``role`` variables) as found.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, FileNotFoundError, OSError) as exc:
        raise QdpxError(
            f"{path.name} is not a .qdpx (zip) file: {exc}. Export the project again as REFI-QDA."
        ) from exc
    budget = _Budget(MAX_ARCHIVE_BYTES)
    with zf:
        names = set(zf.namelist())
        qde = next((n for n in names if n.lower().endswith(".qde")), None)
        if qde is None:
            raise QdpxError(
                f"{path.name} holds no project.qde; export the project again as REFI-QDA."
            )
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            root = etree.fromstring(_read_member(zf, qde, budget, path.name), parser)
        except etree.XMLSyntaxError as exc:
            raise QdpxError(f"{path.name}: project.qde is not valid XML ({exc}).") from exc
        if root.tag != _Q + "Project":
            raise QdpxError(
                f"{path.name}: root element is {root.tag}, expected Project in namespace {NS}."
            )

        users = {
            u.get("guid"): u.get("name") or u.get("id") or u.get("guid")
            for u in root.iter(_Q + "User")
        }
        codes = {c.get("guid"): c.get("name") for c in root.iter(_Q + "Code")}
        variables = {
            v.get("guid"): (v.get("name") or "").strip().lower()
            for v in root.iter(_Q + "Variable")
        }

        def values(el: etree._Element) -> dict[str, str]:
            out: dict[str, str] = {}
            for vv in el.findall(_Q + "VariableValue"):
                ref = vv.find(_Q + "VariableRef")
                val = next((c.text for c in vv if c.tag != _Q + "VariableRef"), None)
                var = variables.get(ref.get("targetGUID")) if ref is not None else None
                if var and val is not None:
                    out[var] = val.strip()
            return out

        case_values: dict[str, dict[str, str]] = {}
        for case in root.iter(_Q + "Case"):
            vals = values(case)
            for ref in case.findall(_Q + "SourceRef"):
                case_values.setdefault(ref.get("targetGUID"), {}).update(vals)

        rows: list[dict[str, object]] = []
        transcripts: dict[str, str] = {}
        meta_rows: list[dict[str, object]] = []
        n = 0
        for src in root.iter(_Q + "TextSource"):
            if src.getparent() is None or src.getparent().tag != _Q + "Sources":
                continue
            name = src.get("name") or src.get("guid")
            text = None
            content = src.find(_Q + "PlainTextContent")
            if content is not None and content.text is not None:
                text = content.text
            else:
                ptp = src.get("plainTextPath") or ""
                if ptp.startswith("internal://"):
                    member = _internal_member(ptp, names, path.name)
                    raw = _read_member(zf, member, budget, path.name)
                    try:
                        text = raw.decode("utf-8-sig")
                    except UnicodeDecodeError as exc:
                        raise QdpxError(f"{path.name}: {member} is not UTF-8 text.") from exc
                elif ptp.startswith("relative://"):
                    text = _relative_source(ptp, sources_dir, path.name)
                elif ptp:
                    raise QdpxError(
                        f"{path.name}: source path {ptp!r} is neither internal:// nor "
                        "relative://; absolute paths and URLs are not read."
                    )
            if text is not None:
                transcripts[name] = text
            vals = {**case_values.get(src.get("guid"), {}), **values(src)}
            meta_rows.append(
                {"interview_id": name, "la": vals.get("la"), "role": vals.get("role")}
            )
            for sel in src.findall(_Q + "PlainTextSelection"):
                start = _position(sel, "startPosition", path.name)
                end = _position(sel, "endPosition", path.name)
                for coding in sel.findall(_Q + "Coding"):
                    n += 1
                    ref = coding.find(_Q + "CodeRef")
                    target = ref.get("targetGUID") if ref is not None else None
                    user = coding.get("creatingUser") or sel.get("creatingUser")
                    rows.append(
                        {
                            "file": path.name,
                            "row": n,
                            "segment_id": sel.get("guid"),
                            "interview_id": name,
                            "la": vals.get("la"),
                            "role": vals.get("role"),
                            "coder": users.get(user, user),
                            "code_raw": codes.get(target, target),
                            "start": start,
                            "end": end,
                            "text": text[start:end] if text is not None else sel.get("name"),
                        }
                    )
    description = root.findtext(_Q + "Description") or ""
    fictional = "FICTIONAL" in (root.get("name") or "") or "FICTIONAL" in description
    return CodedSet(
        segments=normalise_segments(pd.DataFrame(rows)),
        transcripts=transcripts,
        interviews=pd.DataFrame(meta_rows, columns=["interview_id", "la", "role"]).astype(
            "string"
        ),
        sources=[path],
        fictional=fictional,
    )
