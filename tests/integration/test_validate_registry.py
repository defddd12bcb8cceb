"""``cwi validate`` on hand-made statutory extracts needs nothing but ``cwi reference use``.

A new user's Telford and Wrekin (E06000020) extract, written by hand in the statutory formats
with real TF postcodes (SSDA903 header and episodes CSV, CIN census XML, and an address
extract whose date column is the common export name ``AddressStartDate``), is validated with a
settings file that only says where the build writes: the postcode files come from the
reference registry after ``cwi reference use ../shared/data/public``. A semicolon-separated copy
of the header is refused with exit 2 and a message naming the delimiter.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from cwi.config import ROOT
from tests.conftest import cwi_command, env_with_venv

pytestmark = [pytest.mark.shared]

HEADER = (
    "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n101,1,01/05/2010,WBRI,,,\n102,2,15/09/2012,APKN,,,\n"
)
EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PL,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
    "101,01/04/2021,S,C2,N1,U1,PR1,,,,TF1 1AA,TF1 1AD,\n"
    "102,01/06/2022,S,C2,N1,U1,PR1,,,,TF1 1AH,TF1 1AD,\n"
)
CIN = (
    '<?xml version="1.0" encoding="utf-8"?>\n<Message xmlns="http://www.dcsf.gov.uk/schemas/cbds">'
    "<Header><CollectionDetails><Collection>CIN</Collection><Year>2023</Year>"
    "<ReferenceDate>2023-03-31</ReferenceDate></CollectionDetails><Source><SourceLevel>L"
    "</SourceLevel><LEA>894</LEA></Source></Header>\n<Children>\n"
    "<Child><ChildIdentifiers><LAchildID>201</LAchildID><PersonBirthDate>2012-04-01"
    "</PersonBirthDate><GenderCurrent>1</GenderCurrent></ChildIdentifiers><ChildCharacteristics>"
    "<Ethnicity>WBRI</Ethnicity><Disabilities><Disability>NONE</Disability></Disabilities>"
    "</ChildCharacteristics><CINdetails><CINreferralDate>2022-05-01</CINreferralDate>"
    "</CINdetails></Child>\n</Children></Message>\n"
)
ADDRESSES = "LAchildID,Postcode,AddressStartDate\n201,TF1 1AE,2022-01-01\n"


def test_validate_uses_the_reference_registry(shared_public, tmp_path):
    folder = tmp_path / "extracts" / "E06000020" / "2023"
    folder.mkdir(parents=True)
    for name, text in (("ssda903_header.csv", HEADER), ("ssda903_episodes.csv", EPISODES),
                       ("cin_census.xml", CIN), ("addresses.csv", ADDRESSES)):  # fmt: skip
        (folder / name).write_text(text, encoding="utf-8")
    settings = tmp_path / "settings.yml"
    settings.write_text(yaml.safe_dump({
        "release": {"imd_vintage": "2019"},
        "data": {"source": "extracts", "extracts_dir": str(tmp_path / "extracts"),
                 "reference_dir": str(tmp_path / "reference"),
                 "reference_cache": str(tmp_path / "reference" / "cache"),
                 "private_dir": str(tmp_path / "build" / "private")},
        "output": {"build_dir": str(tmp_path / "build")},
    }))  # fmt: skip
    env = env_with_venv()
    env.pop("CWI_PSEUDO_KEY", None)

    def cwi(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cwi_command() + [*args, "--settings", str(settings)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip

    assert cwi("reference", "use", str(shared_public)).returncode == 0
    proc = cwi("validate", str(folder.parent))
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 0, out
    assert "E06000020 2023 CLA: 2 of 2 children linked" in out
    assert "E06000020 2023 CIN: 1 of 1 children linked" in out
    assert "FILE_MISSING_COLUMNS" not in out and "nspl.csv" not in out

    (folder / "ssda903_header.csv").write_text(HEADER.replace(",", ";"), encoding="utf-8")
    proc = cwi("validate", str(folder.parent))
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2, out
    assert "FILE_DELIMITER_SEMICOLON" in out and "semicolons" in out


def test_la_list_code_not_in_the_reference_exits_2(shared_public, tmp_path):
    settings = tmp_path / "settings.yml"
    settings.write_text(yaml.safe_dump({
        "release": {"imd_vintage": "2019", "la_list": ["E06000099"]},
        "data": {"source": "extracts", "extracts_dir": str(tmp_path / "extracts"),
                 "reference_dir": str(shared_public),
                 "reference_cache": str(tmp_path / "cache"),
                 "private_dir": str(tmp_path / "build" / "private")},
        "output": {"build_dir": str(tmp_path / "build")},
    }))  # fmt: skip
    (tmp_path / "extracts").mkdir()
    proc = subprocess.run(
        cwi_command() + ["build", "--stages", "reference,ingest", "--settings", str(settings)],
        cwd=ROOT, env=env_with_venv(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Settings error: release.la_list ['E06000099'] not among the 14 LAs" in proc.stderr
