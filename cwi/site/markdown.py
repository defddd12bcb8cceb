"""Small pandoc-markdown writers shared by the report chapters and the LA pages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cwi.config import ROOT


def pipe_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    align: str | None = None,
    caption: str = "",
) -> str:
    """Return a pandoc pipe table.

    Parameters
    ----------
    header : sequence of str
        Column headings.
    rows : sequence of sequences
        Cell values, already formatted as text.
    align : str, optional
        One letter per column: ``l`` left, ``r`` right (default: first left, others right).
    caption : str
        Table caption (pandoc ``: caption`` syntax).
    """
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]

    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    out = [line(header), "|" + "|".join(rule) + "|", *(line(r) for r in rows)]
    if caption:
        out += ["", f": {caption}"]
    return "\n".join(out) + "\n"


def figure_block(path: str, fig: dict[str, str], table_md: str | None = None) -> str:
    """A chart with its words as text, and its table alternative in a tabset.

    The same markup is valid for Quarto (``panel-tabset``, ``fig-alt``) and plain pandoc.
    """
    words = (
        f"**{fig['title']}**\n\n{fig['subtitle']}\n\n"
        f'![{fig["title"]}]({path}){{fig-alt="{fig["alt"]}"}}\n\n'
        f"Source: {fig['source']}\n"
    )
    if table_md is None:
        return words
    return f"::: {{.panel-tabset}}\n\n## Chart\n\n{words}\n## Table\n\n{table_md}\n:::\n"


def template_env(folder: Path | None = None) -> Environment:
    """Jinja2 environment over ``templates/`` with delimiters that leave Quarto syntax alone.

    ``[[ var ]]`` and ``[% block %]`` are used, so Quarto shortcodes ``{{< ... >}}`` and pandoc
    attributes ``{...}`` pass through untouched.
    """
    return Environment(
        loader=FileSystemLoader(folder or ROOT / "templates"),
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def html_env(folder: Path | None = None) -> Environment:
    """Jinja2 environment for HTML templates (print page, site shell), autoescaped."""
    return Environment(
        loader=FileSystemLoader(folder or ROOT / "templates"),
        undefined=StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
