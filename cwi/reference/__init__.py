"""Public reference data: IMD, LSOA lookups, child populations, postcodes, boundaries, DfE tables.

Entry points: :func:`load_reference` (every table of a build), the CLI functions
:func:`fetch_cli`, :func:`use_cli`, :func:`check_cli`, :func:`align_imd_to_edition` and
:func:`real_geography`. Decile orientation everywhere: **decile 1 = most deprived**.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cwi.reference.errors import ReferenceDataError
from cwi.reference.fetch import check_cli, fetch, fetch_cli, use, use_cli
from cwi.reference.imd import align_imd_to_edition, decile_from_rank, read_imd
from cwi.reference.load import ReferenceData, load_reference

if TYPE_CHECKING:
    from cwi.config import Settings


def real_geography(settings: Settings) -> Any:
    """Build the demo generator's ``Geography`` from the real reference files.

    See :func:`cwi.reference.geography.real_geography`.
    """
    from cwi.reference.geography import real_geography as _real_geography

    return _real_geography(settings)


__all__ = [
    "ReferenceData",
    "ReferenceDataError",
    "align_imd_to_edition",
    "check_cli",
    "decile_from_rank",
    "fetch",
    "fetch_cli",
    "load_reference",
    "read_imd",
    "real_geography",
    "use",
    "use_cli",
]
