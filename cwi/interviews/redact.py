"""Anonymisation of interview material: redaction check, quote attribution, small counts.

``redaction_check`` flags text that may identify a person: personal names (from a names list,
and capitalised words after a title such as Mr, Mrs, Ms, Miss, Mx, Dr), e-mail addresses and UK
telephone numbers. It is a screen for a human reviewer, not a guarantee: it misses names it has
never seen that follow no title, and may flag ordinary capitalised words that are also names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import pandas as pd

REDACTION_COLUMNS = ("kind", "start", "end", "match", "message")

#: Common UK given names and surnames screened by default (kept to words that are rarely
#: ordinary English words at the start of a sentence). Add project-specific names with
#: ``redaction_check(text, names=[...])``.
DEFAULT_NAMES = frozenset(
    """
    Aaliyah Abdul Adam Ahmed Aisha Alan Alex Alexander Alice Alison Amanda Amelia Amy Andrew
    Angela Ann Anna Anne Anthony Ashley Barbara Ben Benjamin Beth Bethany Brian Callum Carl
    Caroline Catherine Charles Charlie Charlotte Chloe Chris Christine Christopher Claire Colin
    Connor Craig Daniel Danielle David Deborah Dennis Donna Dylan Edward Eleanor Elizabeth Ella
    Emily Emma Ethan Fatima Fiona Freddie Gareth Gary Gemma George Georgia Graham Hannah Harry
    Harvey Helen Ian Imran Isabella Isla Jack Jacob Jade James Jane Janet Jason Jennifer Jessica
    Joan Joanne John Jonathan Joseph Joshua Julie Karen Kate Katie Kelly Kevin Kieran Laura Lauren
    Leah Lee Leo Liam Linda Lisa Louise Lucy Luke Margaret Maria Mark Martin Mary Matthew Megan
    Melissa Michael Michelle Mohammed Muhammad Natalie Nathan Neil Nicola Noah Oliver Olivia Oscar
    Patricia Paul Peter Philip Rachel Rebecca Richard Robert Ryan Sally Samantha Samuel Sandra
    Sarah Scott Sharon Simon Sophie Stephen Steven Stuart Susan Thomas Tracey Tyler Victoria
    William Zainab Zoe
    Ahmed Ali Anderson Baker Begum Bennett Brown Campbell Carter Clarke Collins Cooper Davies Davis
    Edwards Evans Green Griffiths Harris Hughes Hussain Jackson Jenkins Johnson Jones Kaur Khan
    Lewis Mitchell Morgan Morris Murphy Parker Patel Phillips Roberts Robinson Shah Singh Smith
    Stewart Taylor Thompson Thomson Turner Walker Ward Watson Williams Wilson Wood Wright Young
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_TITLE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor)\.?\s+[A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+)?"
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
# UK numbers: +44 / 0044 / 0 then 9-10 digits, allowing spaces, hyphens and brackets.
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)44\s?(?:\(0\)\s?)?|\(?0)\d{2,4}\)?(?:[\s\-]?\d){6,8}(?!\d)"
)


@lru_cache(maxsize=32)
def _names_pattern(extra: frozenset[str]) -> re.Pattern[str]:
    words = sorted(set(DEFAULT_NAMES) | extra, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in words) + r")\b")


def find_identifiers(text: str, names: Iterable[str] | None = None) -> list[dict[str, object]]:
    """Return the findings of :func:`redaction_check` as a list of dicts (fast path)."""
    text = text or ""
    rows: list[dict[str, object]] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, m: re.Match[str], message: str) -> None:
        if any(m.start() < b and a < m.end() for a, b in taken):
            return
        taken.append((m.start(), m.end()))
        rows.append(
            {
                "kind": kind,
                "start": m.start(),
                "end": m.end(),
                "match": m.group(0),
                "message": message,
            }
        )

    for m in _EMAIL.finditer(text):
        add("email", m, "E-mail address: replace it with [e-mail removed].")
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 10 <= len(digits) <= 13:
            add("phone", m, "Telephone number: replace it with [phone removed].")
    for m in _TITLE.finditer(text):
        add("titled_name", m, "Title followed by a name: replace the name with a role.")
    extra = frozenset(n.strip() for n in (names or []) if n and n.strip())
    for m in _names_pattern(extra).finditer(text):
        add("name", m, "Personal name: replace it with a role (e.g. [the social worker]).")
    return sorted(rows, key=lambda r: r["start"])


def redaction_check(text: str, names: Iterable[str] | None = None) -> pd.DataFrame:
    """Find possible personal names, e-mail addresses and UK phone numbers in a text.

    Parameters
    ----------
    text : str
        Quote or transcript text.
    names : iterable of str, optional
        Extra names to screen for (e.g. staff and family names known to the project); matched
        as whole words, case-sensitively, in addition to :data:`DEFAULT_NAMES`.

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``kind`` (``name``, ``titled_name``, ``email``, ``phone``),
        ``start``, ``end``, ``match`` and ``message``. Empty when nothing is found.
    """
    return pd.DataFrame(find_identifiers(text, names), columns=list(REDACTION_COLUMNS))


def attribute(role: object, la: object) -> str:
    """Attribution of a quote by role and LA pseudonym only, e.g. ``Team manager, LA-C``."""
    role_s = str(role) if isinstance(role, str) and role else "Interviewee"
    la_s = str(la) if isinstance(la, str) and la else "LA not recorded"
    return f"{role_s[:1].upper()}{role_s[1:]}, {la_s}"


def suppress_small(value: object, threshold: int) -> object:
    """Show a count below ``threshold`` (but above zero) as ``[c]``.

    This is the local stand-in for ``cwi.disclosure.format_cell`` used when that module is not
    available: the interview tables by role and by LA group hide counts from 1 to
    ``threshold - 1``; zeros and larger counts are shown as they are.

    Parameters
    ----------
    value : object
        A count (int, float or NA).
    threshold : int
        Smallest count that may be shown (settings ``disclosure.crosstab_min``).

    Returns
    -------
    object
        ``"[c]"``, the integer count, or ``pd.NA``.
    """
    if value is None or pd.isna(value):
        return pd.NA
    count = int(value)
    return "[c]" if 0 < count < threshold else count


def suppress_frame(frame: pd.DataFrame, columns: Iterable[str], threshold: int) -> pd.DataFrame:
    """Apply :func:`suppress_small` to count columns (primary suppression only)."""
    out = frame.copy()
    for col in columns:
        out[col] = out[col].map(lambda v: suppress_small(v, threshold)).astype(object)
    return out


def protect_counts(
    frame: pd.DataFrame,
    dims: tuple[str, ...],
    line_dim: str,
    counts: Iterable[str],
    thresholds: dict[str, int],
) -> pd.DataFrame:
    """Suppress small counts of a theme x group table through the project's disclosure layer.

    Each count column goes through :func:`cwi.disclosure.protect` (primary and secondary
    suppression at the ``crosstab_min`` threshold, lines along ``line_dim`` whose totals are
    published in the theme table) and is formatted with :func:`cwi.disclosure.format_cell`.
    When that module is not importable, only primary suppression (:func:`suppress_small`) is
    applied.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per cell with ``dims`` and the count columns.
    dims : tuple of str
        Dimension columns identifying a cell, e.g. ``("theme", "role")``.
    line_dim : str
        Dimension along which counts add up to the (separately published) theme total.
    counts : iterable of str
        Count columns.
    thresholds : dict
        ``Settings.disclosure``.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with each count column as text (``[c]`` where hidden).
    """
    counts = list(counts)
    try:
        from cwi.disclosure import Line, TableSpec, format_cell, protect
    except ImportError:  # pragma: no cover - the disclosure layer ships with the package
        return suppress_frame(frame, counts, int(thresholds.get("crosstab_min", 10)))
    out = frame.copy()
    for col in counts:
        spec = TableSpec(
            name=f"interviews_{line_dim}_{col}",
            counts=(col,),
            dims=dims,
            lines=(Line(line_dim),),
            level="crosstab",
        )
        table = frame[[*dims, col]].copy()
        table[col] = table[col].astype(float)
        done = protect(table, spec, thresholds)
        out[col] = [format_cell(v, n) for v, n in zip(done[col], done["note"], strict=True)]
    return out
