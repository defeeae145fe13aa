"""The shared rights vocabulary: masks, SDDL right strings and Get-Acl names as icacls codes."""

from __future__ import annotations

import pytest

from iisguard.model import rights


@pytest.mark.parametrize(
    ("mask", "codes"),
    [
        (0x1F01FF, ["F"]),  # FA
        (0x1301BF, ["M"]),
        (0x1200A9, ["RX"]),
        (0x120089, ["R"]),
        (0x100116, ["W"]),
        (0x110000, ["D"]),
        (0x1201BF, ["RX", "W"]),
        (0x1301BF | 0x80000 | 0x40, ["M", "WO", "DC"]),
        (0xA0000000, ["GR", "GE"]),  # GXGR, -1610612736
        (0x10000000, ["F"]),  # GA prints as F, like icacls
        (0x120116, ["W", "RC"]),  # FILE_GENERIC_WRITE
        (0x10000, ["DE"]),
        (0x40000 | 0x80000, ["WDAC", "WO"]),
        (0, ["N"]),
        (0x100000 | 0x1 | 0x20, ["S", "RD", "X"]),
        (0x4, ["AD"]),  # Authenticated Users on C:\ may create folders
    ],
)
def test_codes_from_mask(mask, codes):
    assert rights.codes_from_mask(mask) == codes
    # and back: the codes stand for at least the bits they came from
    assert rights.mask_from_codes(codes) & mask == mask or mask & rights.GENERIC_ALL


@pytest.mark.parametrize(
    ("text", "mask"),
    [
        ("FA", 0x1F01FF),
        ("0x1200a9", 0x1200A9),
        ("GRGX", 0xA0000000),
        ("1179817", 0x1200A9),
        ("SDRCWDWO", 0xF0000),
        ("ZZ", None),
        ("F", None),
    ],
)
def test_sddl_mask(text, mask):
    assert rights.sddl_mask(text) == mask


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("FullControl", ["F"]),
        ("Modify, Synchronize", ["M"]),
        ("ReadAndExecute, Synchronize", ["RX"]),
        ("Read, Synchronize", ["R"]),
        ("Write, ReadAndExecute, Synchronize", ["RX", "W"]),
        ("268435456", ["F"]),
        ("-1610612736", ["GR", "GE"]),
        ("-536805376", ["DE", "GR", "GW", "GE"]),  # the generic Modify of an inherit-only ACE
    ],
)
def test_filesystem_rights(text, codes):
    mask = rights.filesystem_rights_mask(text)
    assert mask is not None
    assert rights.codes_from_mask(mask) == codes


def test_unknown_filesystem_right_is_none():
    assert rights.filesystem_rights_mask("ReadAndJump") is None


@pytest.mark.parametrize(
    ("codes", "write"),
    [
        (["F"], True),
        (["M"], True),
        (["W"], True),
        (["D"], True),
        (["DE"], True),
        (["WDAC"], True),
        (["WO"], True),
        (["GA"], True),
        (["GW"], True),
        (["MA"], True),
        (["WD"], True),
        (["AD"], True),
        (["DC"], True),
        (["WA"], True),
        (["WEA"], True),
        (["rx", "w"], True),
        (["0x1301bf"], True),
        (["RX"], False),
        (["R"], False),
        (["GR", "GE"], False),
        (["RC", "S", "RD", "REA", "X", "RA"], False),
        (["N"], False),
        (["0x1200a9"], False),
        ([], False),
    ],
)
def test_is_write_class(codes, write):
    assert rights.is_write_class(codes) is write


def test_normalize_codes():
    assert rights.normalize_codes(["Rc", "s", "0x1200A9", "RX"]) == ["RC", "S", "RX"]
