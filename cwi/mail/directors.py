"""The directors' list: who receives which LA's profile.

A CSV with the columns ``la_code``, ``name`` and ``email`` (the demo region's ``contacts.csv``
names the second column ``director_name`` and adds ``la_name``; both are accepted, other columns
are ignored). Every row is checked: a malformed LA code or e-mail address, a missing name, an LA
listed twice, or an LA code that is not one of the built LAs is reported and nothing is sent for
it; built LAs with no recipient are reported too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path

_LA_CODE = re.compile(r"^[A-Z]\d{8}$")
_NAME_COLUMNS = ("name", "director_name")


@dataclass(frozen=True)
class Recipient:
    """One director: the LA whose profile they receive, their name and address."""

    la_code: str
    name: str
    email: str
    la_name: str = ""

    @property
    def address(self) -> str:
        """``Name <email>`` for the To header."""
        return str(Address(display_name=self.name, addr_spec=self.email))


@dataclass
class DirectorsList:
    """Valid recipients by LA code, and every problem found in the list."""

    recipients: dict[str, Recipient] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unknown_las: list[str] = field(default_factory=list)
    without_recipient: list[str] = field(default_factory=list)


def valid_email(value: str) -> bool:
    """Whether ``value`` is one plain address ``local@domain.tld`` (no display name)."""
    if not re.fullmatch(r"[^@\s<>,;\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", value):
        return False
    try:
        Address(addr_spec=value)
    except (HeaderParseError, ValueError, IndexError):
        return False
    return True


def read_directors(path: Path, known_las: Iterable[str]) -> DirectorsList:
    """Read and check the directors' list against the LAs that have a profile.

    Parameters
    ----------
    path : Path
        CSV with ``la_code``, ``name`` (or ``director_name``) and ``email`` columns.
    known_las : iterable of str
        LA codes that have a built profile PDF.

    Returns
    -------
    DirectorsList
        Valid recipients; problems (row-level), unknown LA codes and LAs without a recipient.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a required column is missing.
    """
    known = sorted(set(known_las))
    out = DirectorsList()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        name_col = next((c for c in _NAME_COLUMNS if c in columns), None)
        missing = [c for c in ("la_code", "email") if c not in columns]
        if missing or name_col is None:
            need = ", ".join(missing + ([] if name_col else ["name"]))
            raise ValueError(f"{path}: the directors' list has no column {need}.")
        seen: dict[str, int] = {}
        for line, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            code, name, email = row["la_code"].upper(), row[name_col], row["email"]
            where = f"{path.name} line {line}"
            if not _LA_CODE.match(code):
                out.problems.append(f"{where}: {row['la_code'] or '(empty)'} is not an LA code.")
                continue
            if code in seen:
                out.problems.append(
                    f"{where}: {code} is listed again (first on line {seen[code]}); "
                    "one director per LA: nothing is sent to this LA until the list is fixed."
                )
                out.recipients.pop(code, None)
                continue
            seen[code] = line
            if code not in known:
                out.unknown_las.append(code)
                continue
            if not name:
                out.problems.append(f"{where}: {code} has no director's name.")
                continue
            if not valid_email(email):
                out.problems.append(f"{where}: {code} has no valid e-mail address.")
                continue
            out.recipients[code] = Recipient(code, name, email, row.get("la_name", ""))
    for code in seen:
        if code in known and code not in out.recipients:
            out.without_recipient.append(code)
    out.without_recipient += [c for c in known if c not in seen]
    out.without_recipient = sorted(set(out.without_recipient))
    return out
