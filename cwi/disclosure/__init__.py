"""Statistical disclosure control: one registry, one suppression pass, one recovery audit.

Rooms:

* :mod:`~cwi.disclosure.registry` -- every published table (title, chapter, count columns,
  threshold level, margins), read by suppression, audit, leak scanner and tests;
* :mod:`~cwi.disclosure.engine` -- primary and secondary suppression over tables that share
  cells and margins (``protect``, ``protect_family``);
* :mod:`~cwi.disclosure.publish` -- ``protect_all``: the pass over every table of a build;
* :mod:`~cwi.disclosure.audit` -- the recovery audit over all published tables together;
* :mod:`~cwi.disclosure.derived` -- numbers for generated sentences (crude ratios hidden with
  their cells);
* :mod:`~cwi.disclosure.symbols` -- ``[c]``/``[z]``/``[x]``, cell formatting, the rule in
  words and the "NOT FOR PUBLICATION" stamp.
"""

from cwi.disclosure.derived import crude_ratio, published_value
from cwi.disclosure.engine import (
    FORBIDDEN_COLUMN,
    DisclosureError,
    Line,
    Margin,
    TableSpec,
    assert_family_not_recoverable,
    assert_not_recoverable,
    protect,
    protect_family,
)
from cwi.disclosure.symbols import (
    CONFIDENTIAL,
    DOCUMENTED_MINIMUM,
    NOT_FOR_PUBLICATION,
    NOTE,
    SYMBOLS,
    below_documented_minimum,
    format_cell,
    publication_stamp,
    rule_text,
)

__all__ = [
    "CONFIDENTIAL",
    "DOCUMENTED_MINIMUM",
    "FORBIDDEN_COLUMN",
    "NOTE",
    "NOT_FOR_PUBLICATION",
    "SYMBOLS",
    "DisclosureError",
    "Line",
    "Margin",
    "TableSpec",
    "assert_family_not_recoverable",
    "assert_not_recoverable",
    "below_documented_minimum",
    "crude_ratio",
    "format_cell",
    "protect",
    "protect_all",
    "protect_family",
    "publication_stamp",
    "published_value",
    "rule_text",
]


def __getattr__(name: str):  # protect_all imports the analysis' verdicts: load it lazily
    if name == "protect_all":
        from cwi.disclosure.publish import protect_all

        return protect_all
    raise AttributeError(name)
