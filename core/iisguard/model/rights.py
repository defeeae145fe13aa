"""File access rights: masks, SDDL right strings and Get-Acl names, all as the short codes icacls prints.

One vocabulary for every ACL source (icacls, SDDL, Get-Acl), so rules compare like with like:
simple rights `F M RX R W D N`, then specific ones in icacls order
`DE RC WDAC WO S AS MA GR GW GE GA RD WD AD REA WEA X DC RA WA`. A generic-all grant prints as `F`,
as icacls shows `(A;OICIIO;GA;;;CO)` as `CREATOR OWNER:(OI)(CI)(IO)(F)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Specific rights (winnt.h file access bits), in the order icacls lists them.
SPECIFIC: dict[str, int] = {
    "DE": 0x00010000,  # DELETE
    "RC": 0x00020000,  # READ_CONTROL
    "WDAC": 0x00040000,  # WRITE_DAC
    "WO": 0x00080000,  # WRITE_OWNER
    "S": 0x00100000,  # SYNCHRONIZE
    "AS": 0x01000000,  # ACCESS_SYSTEM_SECURITY
    "MA": 0x02000000,  # MAXIMUM_ALLOWED
    "GR": 0x80000000,
    "GW": 0x40000000,
    "GE": 0x20000000,
    "GA": 0x10000000,
    "RD": 0x0001,  # read data / list directory
    "WD": 0x0002,  # write data / add file
    "AD": 0x0004,  # append data / add subdirectory
    "REA": 0x0008,
    "WEA": 0x0010,
    "X": 0x0020,  # execute / traverse
    "DC": 0x0040,  # delete child
    "RA": 0x0080,
    "WA": 0x0100,
}
# Simple rights, largest first: a mask holding one is printed with its code.
SIMPLE: dict[str, int] = {
    "F": 0x001F01FF,
    "M": 0x001301BF,
    "RX": 0x001200A9,
    "R": 0x00120089,
    "W": 0x00100116,
    "D": 0x00110000,
}
GENERIC_ALL = SPECIFIC["GA"]
_ALL_BITS = 0xFFFFFFFF

# Rights that let a principal change content, permissions or ownership.
WRITE_CLASS = frozenset(
    {"F", "M", "W", "D", "DE", "DC", "WD", "AD", "WA", "WEA", "WDAC", "WO", "GA", "GW", "MA"}
)
_WRITE_MASK = (
    SPECIFIC["DE"]
    | SPECIFIC["WDAC"]
    | SPECIFIC["WO"]
    | SPECIFIC["MA"]
    | SPECIFIC["GA"]
    | SPECIFIC["GW"]
    | SPECIFIC["WD"]
    | SPECIFIC["AD"]
    | SPECIFIC["WEA"]
    | SPECIFIC["DC"]
    | SPECIFIC["WA"]
)


def codes_from_mask(mask: int) -> list[str]:
    """icacls codes for an access mask: 0x1301bf -> ['M'], 0x1201bf -> ['RX', 'W'], 0xa0000000 -> ['GR', 'GE']."""
    mask &= _ALL_BITS
    if mask == 0:
        return ["N"]
    out: list[str] = []
    covered = 0
    if mask & GENERIC_ALL:
        out.append("F")
        covered |= GENERIC_ALL | SIMPLE["F"]
    for code, bits in SIMPLE.items():
        if mask & bits == bits and covered & bits != bits:
            out.append(code)
            covered |= bits
    rest = mask & ~covered
    for code, bits in SPECIFIC.items():
        if rest & bits:
            out.append(code)
            rest &= ~bits
    if rest:
        out.append(f"0x{rest:x}")  # bits no icacls code names (never seen on files)
    return out


def mask_from_codes(codes: Iterable[str]) -> int:
    """The access mask an icacls code list stands for (unknown codes add nothing)."""
    mask = 0
    for code in codes:
        c = code.strip().upper()
        if c in SIMPLE:
            mask |= SIMPLE[c]
        elif c in SPECIFIC:
            mask |= SPECIFIC[c]
        elif re.fullmatch(r"0X[0-9A-F]+", c):
            mask |= int(c, 16)
    return mask


def normalize_codes(tokens: Iterable[str]) -> list[str]:
    """icacls right tokens as printed (`Rc`, `rx`, `0x1200a9`) in the shared vocabulary."""
    out: list[str] = []
    for token in tokens:
        t = token.strip().upper()
        if not t:
            continue
        codes = codes_from_mask(int(t, 16)) if re.fullmatch(r"0X[0-9A-F]+", t) else [t]
        for c in codes:
            if c not in out:
                out.append(c)
    return out


def is_write_class(rights: Iterable[str]) -> bool:
    """Whether a grant of these icacls codes lets the holder write, delete, or change permissions/owner."""
    return any(map(_writes, rights))


@lru_cache(maxsize=4096)  # rules ask for every ACE of every ACL: a handful of distinct codes
def _writes(code: str) -> bool:
    c = code.strip().upper()
    return c in WRITE_CLASS or bool(_HEX_MASK.fullmatch(c) and int(c, 16) & _WRITE_MASK)


_HEX_MASK = re.compile(r"0X[0-9A-F]+")


# -- SDDL right strings -----------------------------------------------------------------------------------

SDDL_RIGHTS: dict[str, int] = {
    "GA": 0x10000000,
    "GR": 0x80000000,
    "GW": 0x40000000,
    "GX": 0x20000000,
    "RC": 0x00020000,
    "SD": 0x00010000,
    "WD": 0x00040000,
    "WO": 0x00080000,  # SDDL WD is WRITE_DAC
    "FA": 0x001F01FF,
    "FR": 0x00120089,
    "FW": 0x00120116,
    "FX": 0x001200A0,
    "KA": 0x000F003F,
    "KR": 0x00020019,
    "KW": 0x00020006,
    "KX": 0x00020019,
    "CC": 0x0001,
    "DC": 0x0002,
    "LC": 0x0004,
    "SW": 0x0008,
    "RP": 0x0010,
    "WP": 0x0020,
    "DT": 0x0040,
    "LO": 0x0080,
    "CR": 0x0100,
    "NR": 0,
    "NW": 0,
    "NX": 0,  # mandatory label policies, not access
}


def sddl_mask(text: str) -> int | None:
    """The mask of an SDDL ACE's rights field (`FA`, `0x1200a9`, `GRGX`, `1179817`), or None."""
    t = text.strip()
    if not t:
        return None
    try:
        if t[:2].lower() == "0x":
            return int(t, 16) & _ALL_BITS
        if t.isdigit():
            return int(t, 8 if t.startswith("0") and len(t) > 1 else 10) & _ALL_BITS
    except ValueError:
        return None
    if len(t) % 2:
        return None
    mask = 0
    for i in range(0, len(t), 2):
        bits = SDDL_RIGHTS.get(t[i : i + 2].upper())
        if bits is None:
            return None
        mask |= bits
    return mask


# -- Get-Acl FileSystemRights names ---------------------------------------------------------------------------

FILESYSTEM_RIGHTS: dict[str, int] = {
    "fullcontrol": 0x1F01FF,
    "modify": 0x0301BF,
    "readandexecute": 0x0200A9,
    "read": 0x020089,
    "write": 0x000116,
    "synchronize": 0x100000,
    "delete": 0x010000,
    "readdata": 0x1,
    "listdirectory": 0x1,
    "writedata": 0x2,
    "createfiles": 0x2,
    "appenddata": 0x4,
    "createdirectories": 0x4,
    "readextendedattributes": 0x8,
    "writeextendedattributes": 0x10,
    "executefile": 0x20,
    "traverse": 0x20,
    "deletesubdirectoriesandfiles": 0x40,
    "readattributes": 0x80,
    "writeattributes": 0x100,
    "readpermissions": 0x20000,
    "changepermissions": 0x40000,
    "takeownership": 0x80000,
}


def filesystem_rights_mask(text: str) -> int | None:
    """Get-Acl's `ReadAndExecute, Synchronize` or `-1610612736` as a mask; None when unreadable."""
    t = text.strip()
    if re.fullmatch(r"-?\d+", t):
        return int(t) & _ALL_BITS
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", t):
        return int(t, 16) & _ALL_BITS
    mask = 0
    for part in t.split(","):
        bits = FILESYSTEM_RIGHTS.get(part.strip().casefold())
        if bits is None:
            return None
        mask |= bits
    return mask


# -- what a grant lets the holder do ------------------------------------------------------------------------

_FULL_MASK = SIMPLE["F"]
_MODIFY_MASK = SIMPLE["M"]


def grants_write(rights: Iterable[str]) -> bool:
    """Whether an ACE with these codes lets the holder write, delete, or change permissions/owner."""
    return is_write_class(rights)


def grants_modify(rights: Iterable[str]) -> bool:
    """Whether the codes include everything Modify (M) grants: change and delete content."""
    return mask_from_codes(_full_codes(rights)) & _MODIFY_MASK == _MODIFY_MASK


def grants_full(rights: Iterable[str]) -> bool:
    """Whether the codes grant Full control (F, GA, or every bit of it)."""
    return mask_from_codes(_full_codes(rights)) & _FULL_MASK == _FULL_MASK


def _full_codes(rights: Iterable[str]) -> list[str]:
    # GA (generic all) and GW+GR+GE are full and modify rights once mapped onto a file.
    out = []
    for code in rights:
        c = code.strip().upper()
        out.append("F" if c == "GA" else c)
    return out


def access_level(rights: Iterable[str]) -> str:
    """`full`, `modify`, `write`, `read` or `none`: the broadest thing a grant of these codes allows."""
    codes = list(rights)
    if grants_full(codes):
        return "full"
    if grants_modify(codes):
        return "modify"
    if grants_write(codes):
        return "write"
    return "read" if mask_from_codes(codes) else "none"
