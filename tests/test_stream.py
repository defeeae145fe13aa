"""The capture stream: encode a folder, decode it back, refuse damaged or truncated output."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from iisguard.capture.stream import decode, encode
from iisguard.errors import CollectionError

FILES = {
    "capture.yaml": b"host: WEB01\nsections: [{name: ad, status: absent, message: not joined}]\n",
    "iis/applicationHost.config": b"<configuration/>\r\n",
    "acls/icacls wwwroot.txt": "C:\\inetpub\\wwwroot BUILTIN\\IIS_IUSRS:(OI)(CI)(RX)\n".encode("utf-16"),
    "empty.txt": b"",
    "big.bin": bytes(range(256)) * 40,
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, data in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_round_trip(folder: Path) -> None:
    text = encode(folder)
    got = decode(text)
    assert got.host == "WEB01"
    assert dict(got.files) == FILES
    assert got.sections == [{"name": "ad", "status": "absent", "message": "not joined"}]
    assert got.manifest == {
        "host": "WEB01",
        "sections": [{"name": "ad", "status": "absent", "message": "not joined"}],
    }
    assert "IISGUARD-FILE name=acls%2Ficacls%20wwwroot.txt " in text  # percent-encoded names
    body = [line for line in text.splitlines() if line and not line.startswith("IISGUARD-")]
    assert max(len(line) for line in body) == 76


def test_noise_crlf_and_blank_lines_are_tolerated(folder: Path) -> None:
    text = encode(
        folder,
        host="other host",
        sections=[{"name": "spns", "status": "failed", "message": "setspn: 5 = access denied"}],
    )
    noisy = (
        "Windows PowerShell\nCopyright (C) Microsoft\n\n"
        + text.replace("\r\n", "\n\n")
        + "PS C:\\Users\\admin> exit\n"
    )
    got = decode(noisy)
    assert got.host == "other host"
    assert got.sections == [{"name": "spns", "status": "failed", "message": "setspn: 5 = access denied"}]
    assert dict(got.files) == FILES


def test_truncated_output_says_how_far_it_got(folder: Path) -> None:
    text = encode(folder)
    lines = text.splitlines()
    cut = [i for i, line in enumerate(lines) if line.startswith("IISGUARD-END-FILE")][1]
    with pytest.raises(CollectionError, match="output truncated after 2 files"):
        decode("\n".join(lines[: cut + 1]))
    with pytest.raises(CollectionError, match="not closed by IISGUARD-END-FILE.*truncated after 2 files"):
        decode("\n".join(lines[: cut + 3] + lines[-1:]))


def test_size_and_digest_mismatch(folder: Path) -> None:
    text = encode(folder)
    data = FILES["iis/applicationHost.config"]
    good = base64.b64encode(data).decode()
    bad = base64.b64encode(data.replace(b"configuration", b"configuratiom")).decode()
    with pytest.raises(CollectionError, match="iis/applicationHost.config.*sha256 mismatch"):
        decode(text.replace(good, bad))
    with pytest.raises(CollectionError, match="header says"):
        decode(text.replace(f"bytes={len(data)} ", f"bytes={len(data) + 1} "))
    with pytest.raises(CollectionError, match="bad base64"):
        decode(text.replace(good, good[:-4] + "!!!!"))
    with pytest.raises(CollectionError, match="announces 9 files but holds 5"):
        decode(text.replace("IISGUARD-DONE files=5", "IISGUARD-DONE files=9"))


def test_not_a_stream_or_another_version() -> None:
    with pytest.raises(CollectionError, match="no IISGUARD-CAPTURE line"):
        decode("hello\n")
    with pytest.raises(CollectionError, match="version 3 is not supported"):
        decode("IISGUARD-CAPTURE 3 host=x\nIISGUARD-DONE files=0\n")
    with pytest.raises(CollectionError, match="bad SECTION"):
        decode("IISGUARD-CAPTURE 1 host=x\nIISGUARD-SECTION name=iis status=great\nIISGUARD-DONE files=0\n")
    assert decode("IISGUARD-CAPTURE 1\nIISGUARD-DONE files=0\n").host is None
