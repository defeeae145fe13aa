"""Code pages: OEM output (850, 437, 866, 932) read without a BOM is re-decoded; localized well-known
names mangled by a wrong code page or with lost letters (`?`, U+FFFD) still map to their SIDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from iisguard.capture import registry
from iisguard.capture.base import Artifact, sniff_encoding
from iisguard.capture.importer import build_snapshot
from iisguard.model import sids
from iisguard.model.names import sid_for

PARSERS = registry.builtin_parsers()

ICACLS_FR = (
    "C:\\inetpub\\boutique AUTORITE NT\\Système:(OI)(CI)(F)\n"
    "                    BUILTIN\\Administrateurs:(OI)(CI)(F)\n"
    "                    BUILTIN\\Utilisateurs:(OI)(CI)(RX)\n"
    "                    Tout le monde:(OI)(CI)(M)\n"
)
ICACLS_DE = (
    "D:\\Webs\\lager NT-AUTORITÄT\\SYSTEM:(OI)(CI)(F)\n"
    "              VORDEFINIERT\\Administratoren:(OI)(CI)(F)\n"
    "              VORDEFINIERT\\Benutzer:(OI)(CI)(RX)\n"
)
ICACLS_RU = (
    "C:\\inetpub\\sklad NT AUTHORITY\\СИСТЕМА:(OI)(CI)(F)\n"
    "                  BUILTIN\\Администраторы:(OI)(CI)(F)\n"
)


def sids_of(text: bytes) -> list[str | None]:
    art = Artifact(source=Path("acl.txt"), path="acl.txt", data=text)
    snap = build_snapshot([art], host="H", kind="icacls", parsers=PARSERS)
    return [ace.get("sid") for ace in snap["acls"][0]["aces"]]


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        (ICACLS_FR, "cp850", [sids.LOCAL_SYSTEM, sids.ADMINISTRATORS, sids.USERS, sids.EVERYONE]),
        (ICACLS_FR, "cp437", [sids.LOCAL_SYSTEM, sids.ADMINISTRATORS, sids.USERS, sids.EVERYONE]),
        (ICACLS_DE, "cp850", [sids.LOCAL_SYSTEM, sids.ADMINISTRATORS, sids.USERS]),
        (ICACLS_DE, "cp1252", [sids.LOCAL_SYSTEM, sids.ADMINISTRATORS, sids.USERS]),
        (ICACLS_RU, "cp866", [sids.LOCAL_SYSTEM, sids.ADMINISTRATORS]),
    ],
)
def test_oem_code_page_output_is_re_decoded(text, codec, expected):
    assert sids_of(text.encode(codec)) == expected


def test_the_code_page_is_told_from_the_words():
    assert sniff_encoding(ICACLS_FR.encode("cp850"))[0] in ("cp850", "cp437")
    assert sniff_encoding(ICACLS_DE.encode("cp1252"))[0] == "cp1252"
    assert sniff_encoding(ICACLS_RU.encode("cp866"))[0] == "cp866"
    assert sniff_encoding("Privilege  Description  無効\n".encode("cp932"))[0] == "cp932"


@pytest.mark.parametrize(
    ("mangled", "why"),
    [
        (ICACLS_FR.encode("cp850").decode("cp1252"), "cp850 read as cp1252, saved as UTF-8"),
        (ICACLS_FR.encode("utf-8").decode("cp1252"), "UTF-8 read as cp1252"),
        (ICACLS_FR.replace("è", "?"), "the console had no glyph"),
        (ICACLS_FR.replace("è", "\ufffd"), "decoding failed"),
        (ICACLS_FR.replace("è", "??"), "two bytes of UTF-8 lost"),
    ],
)
def test_mangled_well_known_names_match_tolerantly(mangled, why):
    assert sids_of(mangled.encode("utf-8"))[:2] == [sids.LOCAL_SYSTEM, sids.ADMINISTRATORS], why


@pytest.mark.parametrize(
    ("name", "sid"),
    [
        ("NT-AUTORIT?T\\SYSTEM", sids.LOCAL_SYSTEM),
        ("NT-AUTORIT\ufffdT\\SYSTEM", sids.LOCAL_SYSTEM),
        ("VORDEFINIERT\\G?ste", sids.GUESTS),
        ("CORP\\G?ste", None),  # a lost letter in another domain's account: never guessed
        ("BUILTIN\\?sers", sids.USERS),
        ("NT AUTHORITY\\?", None),  # a lost letter never picks between several accounts
    ],
)
def test_lost_letters(name, sid):
    assert sid_for(name) == sid
