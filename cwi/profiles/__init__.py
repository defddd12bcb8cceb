"""LA profiles: one typed :class:`LaProfile` per LA, built once in the store stage.

``build`` reads the results store and writes ``<results>/profiles/<code>.json`` plus the
charts; ``render`` turns a profile into its web page source or its A4 print HTML with the one
template ``templates/la_profile.j2``; ``sentences`` holds the only words made in Python (those
whose direction depends on the data).
"""

from cwi.profiles.build import (
    build_profile,
    build_profiles,
    data_source_label,
    load_profile,
    relative_figure_path,
)
from cwi.profiles.model import LaProfile
from cwi.profiles.render import render_print, render_web

__all__ = [
    "LaProfile",
    "build_profile",
    "build_profiles",
    "data_source_label",
    "load_profile",
    "relative_figure_path",
    "render_print",
    "render_web",
]
