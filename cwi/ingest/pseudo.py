"""Keyed pseudonyms for child identifiers.

Child ids are short and guessable, so a plain hash could be reversed by trying every id; a keyed
HMAC-SHA256 cannot without the key. The key comes from ``CWI_PSEUDO_KEY`` (hex or any text) or
from a key file in the private build folder, created with :func:`secrets.token_bytes` on first
use. The key file lives in git-ignored ``build/private`` and must never be committed. Ids are
namespaced by LA, so the same id returned by two LAs gives two different pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

ENV_KEY = "CWI_PSEUDO_KEY"
KEY_FILE_NAME = "pseudo.key"
PID_LENGTH = 24  # hex characters (96 bits)


def load_key(private_dir: Path) -> bytes:
    """Return the pseudonymisation key, creating the key file if needed.

    Parameters
    ----------
    private_dir : Path
        The private (git-ignored) folder; the key file is ``private_dir / "pseudo.key"``.

    Returns
    -------
    bytes
        The key: ``$CWI_PSEUDO_KEY`` when set (hex-decoded when it is hex), else the key file.
    """
    env = os.environ.get(ENV_KEY)
    if env:
        try:
            return bytes.fromhex(env)
        except ValueError:
            return env.encode("utf-8")
    path = Path(private_dir) / KEY_FILE_NAME
    if path.is_file():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
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
    cache: dict[str, str] = {}
    prefix = f"{la_code}\x1f".encode()

    def one(value: object) -> object:
        if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
            return None
        text = str(value)
        if text not in cache:
            cache[text] = hmac.new(key, prefix + text.encode("utf-8"), hashlib.sha256).hexdigest()[
                :PID_LENGTH
            ]
        return cache[text]

    return ids.map(one).astype(object)
