"""Kept for existing imports: the suppression pass now lives in :mod:`cwi.disclosure`.

``from cwi.publish import protect_all`` (the pipeline's disclosure stage) and
``TABLE_TITLES`` keep working; new code imports from :mod:`cwi.disclosure.publish` and
:mod:`cwi.disclosure.registry`.
"""

from cwi.disclosure.publish import (
    COUNT_COLUMN,
    PRIVATE_TABLES,
    count_columns,
    linkage_for_publication,
    mask_derived,
    protect_all,
)
from cwi.disclosure.registry import REGION, REGISTRY, SPECS, TABLE_TITLES

__all__ = [
    "COUNT_COLUMN",
    "PRIVATE_TABLES",
    "REGION",
    "REGISTRY",
    "SPECS",
    "TABLE_TITLES",
    "count_columns",
    "linkage_for_publication",
    "mask_derived",
    "protect_all",
]
