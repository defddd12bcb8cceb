"""Reader for LSOA boundaries (GeoJSON, gzipped GeoJSON, GeoPackage, shapefile)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cwi.reference._io import find_column
from cwi.reference.errors import ReferenceDataError, require_file


def read_boundaries(path: Path | str, lsoa_codes: Iterable[str] | None = None):  # noqa: ANN201
    """Read LSOA boundaries with pyogrio into a GeoDataFrame in WGS84.

    Parameters
    ----------
    path : Path or str
        ``.geojson``, ``.geojson.gz``, ``.gpkg`` or ``.shp``.
    lsoa_codes : iterable of str, optional
        Keep only these LSOAs.

    Returns
    -------
    geopandas.GeoDataFrame
        ``lsoa_code``, ``lsoa_name`` (empty if absent) and ``geometry`` (EPSG:4326).
    """
    import geopandas as gpd

    path = require_file(path, "LSOA boundaries")
    source = f"/vsigzip/{path}" if path.suffix.lower() == ".gz" else str(path)
    try:
        frame = gpd.read_file(source, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is one clear message
        raise ReferenceDataError(
            path,
            f"could not be read as a boundary file ({type(exc).__name__}); it is probably "
            "truncated, corrupted or not GeoJSON / GeoPackage / shapefile",
            "Delete it and run `cwi reference fetch` again, or replace it with a good copy.",
        ) from exc
    code = find_column(
        frame.columns, (r"^lsoa\d\dcd$", r"^lsoa\d\d_code$", r"lsoa.*c(o)?d"), path, "LSOA code"
    )
    name = find_column(
        frame.columns, (r"^lsoa\d\dnm$", r"^lsoa\d\d_name$"), path, "LSOA name", False
    )
    out = gpd.GeoDataFrame(
        {"lsoa_code": frame[code].astype(str), "lsoa_name": frame[name] if name else ""},
        geometry=frame.geometry,
        crs=frame.crs,
    )
    if lsoa_codes is not None:
        out = out[out["lsoa_code"].isin(set(lsoa_codes))]
    if out.crs is not None and out.crs.to_epsg() != 4326:
        out = out.to_crs(4326)
    return out.reset_index(drop=True)
