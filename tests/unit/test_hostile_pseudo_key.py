"""Issue 12 item 5: the pseudonym key for real extracts is strong and kept away from the data."""

from __future__ import annotations

import pytest

from cwi.config import load_settings
from cwi.ingest.pseudo import ENV_KEY, ENV_KEY_FILE, PseudoKeyError, load_key

GOOD = "0f" * 32


@pytest.fixture
def real(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    return load_settings().with_overrides(
        data={"source": "extracts", "private_dir": str(tmp_path / "build" / "private")},
        output={"build_dir": str(tmp_path / "build")},
    )


def test_real_extracts_without_a_key_refuse_and_say_how(real):
    with pytest.raises(PseudoKeyError, match=r"secrets\.token_hex\(32\)"):
        load_key(real)
    assert not (real.private_dir / "pseudo.key").exists()  # nothing created silently


@pytest.mark.parametrize("weak", ["01", "ab" * 31, "not hex at all, but long enough " * 3])
def test_short_or_non_hex_keys_are_refused(real, monkeypatch, weak):
    monkeypatch.setenv(ENV_KEY, weak)
    with pytest.raises(PseudoKeyError, match="hex"):
        load_key(real)


def test_env_key_of_32_bytes_is_used(real, monkeypatch):
    monkeypatch.setenv(ENV_KEY, GOOD)
    assert load_key(real) == bytes.fromhex(GOOD)


def test_key_file_inside_build_or_project_is_refused(real, tmp_path, monkeypatch):
    for inside in (real.private_dir / "pseudo.key", real.root / "pseudo-test.key"):
        monkeypatch.setenv(ENV_KEY_FILE, str(inside))
        with pytest.raises(PseudoKeyError, match="outside the project and outside build"):
            load_key(real)
    outside = tmp_path / "keys" / "cwi.key"
    outside.parent.mkdir()
    outside.write_text(GOOD + "\n", encoding="ascii")
    monkeypatch.setenv(ENV_KEY_FILE, str(outside))
    assert load_key(real) == bytes.fromhex(GOOD)
    outside.write_text("abcd", encoding="ascii")  # a one-byte-ish key file
    with pytest.raises(PseudoKeyError, match="at least 32 random bytes"):
        load_key(real)


def test_demo_key_lives_with_the_demo_not_beside_children(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    demo = load_settings().with_overrides(
        data={"source": "demo", "demo_dir": str(tmp_path / "demo"), "private_dir": str(tmp_path)}
    )
    key = load_key(demo)
    path = tmp_path / "demo" / "pseudo.key"
    assert len(key) == 32 and path.is_file() and oct(path.stat().st_mode)[-3:] == "600"
    assert load_key(demo) == key
    assert not (tmp_path / "pseudo.key").exists()
