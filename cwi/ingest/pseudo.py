"""Keyed pseudonyms for child identifiers.

Child ids are short and guessable, so a plain hash could be reversed by trying every id; a keyed
HMAC-SHA256 cannot without the key. Ids are namespaced by LA, so the same id returned by two LAs
gives two different pseudonyms.

Where the key comes from:

- ``CWI_PSEUDO_KEY`` (at least 64 hex characters, i.e. 32 random bytes), else
- the key file named by ``CWI_PSEUDO_KEY_FILE`` or the setting ``data.pseudo_key_file`` (the same
  hex text). For real extracts the file must lie outside the project and outside the build folder,
  so the key never sits beside ``children.parquet`` nor reaches a backup of the build.
- Real extracts with neither: the build refuses and says how to make a key (:data:`HOW_TO`).
- The synthetic demo region (``data.source: demo | real-geography``) with neither: a key is
  generated once into ``<demo_dir>/pseudo.key`` (mode 600), beside the synthetic extracts it
  pseudonymises and away from the build's private outputs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pandas as pd

ENV_KEY = "CWI_PSEUDO_KEY"
ENV_KEY_FILE = "CWI_PSEUDO_KEY_FILE"
KEY_FILE_NAME = "pseudo.key"
PID_LENGTH = 24  # hex characters (96 bits)
MIN_KEY_BYTES = 32
HOW_TO = (
    'make a key with  python -c "import secrets; print(secrets.token_hex(32))"  and either '
    f"export it as {ENV_KEY} or save it in a file outside the project (chmod 600) and name that "
    f"file in {ENV_KEY_FILE} or the setting data.pseudo_key_file. Keep the key: the same key "
    "gives the same pseudonyms in later runs."
)
_HEX = re.compile(r"[0-9a-fA-F]+")


class PseudoKeyError(ValueError):
    """The pseudonymisation key is missing, too short or stored in an unsafe place."""


def parse_key(text: str, origin: str) -> bytes:
    """Decode a hex key of at least :data:`MIN_KEY_BYTES` bytes.

    Parameters
    ----------
    text : str
        The key as hex text (surrounding white space ignored).
    origin : str
        Where the text came from, for the error message.

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    PseudoKeyError
        If the text is not hex or shorter than 64 hex characters.
    """
    text = text.strip()
    if not _HEX.fullmatch(text) or len(text) % 2:
        raise PseudoKeyError(f"The pseudonym key in {origin} is not hex text; {HOW_TO}")
    if len(text) < 2 * MIN_KEY_BYTES:
        raise PseudoKeyError(
            f"The pseudonym key in {origin} has {len(text) // 2} bytes; at least "
            f"{MIN_KEY_BYTES} random bytes ({2 * MIN_KEY_BYTES} hex characters) are needed; "
            f"{HOW_TO}"
        )
    return bytes.fromhex(text)


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def load_key(settings: Any) -> bytes:
    """Return the pseudonymisation key for a build.

    Parameters
    ----------
    settings : Settings
        Gives the data source, ``root``, ``build_dir``, ``private_dir``, ``demo_dir`` and the
        optional ``data.pseudo_key_file``.

    Returns
    -------
    bytes
        At least 32 bytes of key.

    Raises
    ------
    PseudoKeyError
        If the key is too short or not hex, or (real extracts) missing or kept inside the project
        or its build folder; the message says how to make one.
    """
    env = os.environ.get(ENV_KEY)
    if env:
        return parse_key(env, f"${ENV_KEY}")
    demo = settings.data_source in ("demo", "real-geography")
    named = os.environ.get(ENV_KEY_FILE) or settings.pseudo_key_file
    if named:
        path = Path(named).expanduser()
        if not path.is_absolute():
            path = settings.root / path
        if not demo:
            for folder, what in (
                (settings.build_dir, "the build folder"),
                (settings.private_dir, "the private build folder"),
                (settings.root, "the project"),
            ):
                if _inside(path, folder):
                    raise PseudoKeyError(
                        f"The pseudonym key file {path} is inside {what} ({folder}); real "
                        "extracts need the key kept outside the project and outside build/ "
                        "(a key beside the data it protects protects nothing). Move it, e.g. to "
                        "~/.config/cwi/pseudo.key, and name that path."
                    )
        if not path.is_file():
            raise PseudoKeyError(f"The pseudonym key file {path} does not exist; {HOW_TO}")
        return parse_key(path.read_text(encoding="ascii", errors="replace"), str(path))
    if not demo:
        raise PseudoKeyError(f"Real extracts need a pseudonym key and none is set: {HOW_TO}")
    return demo_key(settings.demo_dir)


def demo_key(folder: Path) -> bytes:
    """The demo region's key: ``<folder>/pseudo.key``, generated (mode 600) on first use."""
    path = Path(folder) / KEY_FILE_NAME
    if path.is_file():
        return parse_key(path.read_text(encoding="ascii", errors="replace"), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(MIN_KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    return key


def pseudonymise(ids: pd.Series, la_code: str, key: bytes) -> pd.Series:
    """Replace child ids by keyed pseudonyms, namespaced by LA.

    Parameters
    ----------
    ids : pandas.Series
        Cleaned child ids (missing stays missing).
    la_code : str
        The returning LA's code.
    key : bytes
        Secret key from :func:`load_key`.

    Returns
    -------
    pandas.Series
        Hex pseudonyms of :data:`PID_LENGTH` characters.
    """
    # HMAC is streaming: keying it and feeding the LA prefix once, then copying that state for
    # each distinct id, gives the same digest as hmac.new(key, prefix + id) at a fraction of
    # the cost.
    keyed = hmac.new(key, f"{la_code}\x1f".encode(), hashlib.sha256)

    def one(value: object) -> object:
        if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
            return None
        h = keyed.copy()
        h.update(str(value).encode("utf-8"))
        return h.hexdigest()[:PID_LENGTH]

    codes, uniques = pd.factorize(ids.astype(object), use_na_sentinel=False)
    per_value = pd.Series([one(v) for v in uniques], dtype=object)
    out = per_value.take(codes) if len(codes) else pd.Series([], dtype=object)
    out.index = ids.index
    return out.astype(object)
