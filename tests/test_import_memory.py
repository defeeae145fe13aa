"""A large `icacls /T` listing imports in bounded memory (issue 3): ACLs spill to a temporary file.

Past SPILL_ACLS parsed ACLs, an import that writes a file keeps them in a spill file and writes the
snapshot by streaming them back, each checked against the ACL schema. The file written is byte for
byte the one an all-in-memory import writes, and peak memory no longer grows with the listing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iisguard.capture import base, importer, registry
from iisguard.errors import CaptureError
from iisguard.model import snapshot as snapmod

from .conftest import ROOT


def listing(path: Path, paths: int) -> None:
    """An icacls /T listing of a site tree: `paths` paths, four or five ACEs each."""
    with path.open("w", encoding="utf-8", newline="\r\n") as fh:
        fh.write("D:\\>icacls D:\\Sites /T /C\n")
        for i in range(paths):
            site, n = divmod(i, 10)
            p = f"D:\\Sites\\site{site:05d}" + (f"\\page{n}.aspx" if n else "")
            flags = "(I)" if n else "(OI)(CI)"
            aces = [
                f"IIS APPPOOL\\Site{site:05d}:{flags}(RX)",
                f"NT AUTHORITY\\SYSTEM:(I){'' if n else '(OI)(CI)'}(F)",
                f"BUILTIN\\Administrators:(I){'' if n else '(OI)(CI)'}(F)",
                "Everyone:(I)(M)" if site % 7 == 3 else f"BUILTIN\\Users:(I){'' if n else '(OI)(CI)'}(RX)",
            ]
            fh.write(f"{p} {aces[0]}\n")
            fh.writelines(" " * (len(p) + 1) + a + "\n" for a in aces[1:])
            fh.write("\n")
        fh.write(f"Successfully processed {paths:,} files; Failed processing 0 files\n")


SDDL = (
    "C:\\inetpub\\wwwroot\tO:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;IU)\n"
    "D:\\Shared\tO:BAG:SYD:AI(A;OICI;0x1301bf;;;WD)\n"
)


def test_spilled_import_writes_the_same_bytes(tmp_path, monkeypatch):
    listing(tmp_path / "icacls.txt", 2_345)
    (tmp_path / "acl.sddl").write_text(SDDL, encoding="utf-8")
    files = [str(tmp_path / "icacls.txt"), str(tmp_path / "acl.sddl")]
    whole = importer.import_paths(files, output=str(tmp_path / "whole.json"), host="WEB01")
    monkeypatch.setattr(base, "SPILL_ACLS", 100)
    seen = []
    original = base.Builder.spilled_acls

    def spy(self):
        seen.append(self.spilled)
        yield from original(self)

    monkeypatch.setattr(base.Builder, "spilled_acls", spy)
    streamed = importer.import_paths(files, output=str(tmp_path / "streamed.json"), host="WEB01")
    assert seen == [2_300]  # 23 spills of 100; the last 47 stayed in memory
    assert (tmp_path / "streamed.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
    assert "acls" not in streamed and len(whole["acls"]) == 2_347
    assert {k: v for k, v in whole.items() if k != "acls"} == streamed
    loaded = snapmod.load(tmp_path / "streamed.json")
    assert loaded.data["acls"][-1]["path"] == "D:\\Shared"  # the SDDL file's ACLs kept their place


def test_stdout_and_build_snapshot_never_spill(tmp_path, monkeypatch):
    """Without a file to stream into (collection, `-o -`), every ACL stays in the returned snapshot."""
    monkeypatch.setattr(base, "SPILL_ACLS", 10)
    listing(tmp_path / "icacls.txt", 55)
    data = importer.import_paths([str(tmp_path / "icacls.txt")], output=None, host="WEB01")
    assert len(data["acls"]) == 55
    artifact = base.Artifact(source=tmp_path / "icacls.txt", path="icacls.txt")
    assert len(importer.build_snapshot([artifact], host="WEB01")["acls"]) == 55


class _BadAcls:
    """A plugin parser whose 150th ACL breaks the schema (no `aces`)."""

    kind = "bad_acls"
    sections = ("acls",)

    def detect(self, head: str, name: str) -> float:
        return 1.0 if name.endswith(".bad") else 0.0

    def parse(self, artifact, builder) -> None:
        for i in range(200):
            acl = {"path": f"C:\\x{i}", "aces": [{"principal": "Everyone", "type": "allow", "rights": ["R"]}]}
            if i == 150:
                del acl["aces"]
            builder.add_acl(acl)


def test_a_spilled_acl_is_validated_and_no_half_file_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "SPILL_ACLS", 50)
    (tmp_path / "in.bad").write_text("x", encoding="utf-8")
    out = tmp_path / "out" / "snapshot.json"
    parsers = [*registry.builtin_parsers(), _BadAcls()]
    with pytest.raises(CaptureError, match=r"internal error: .*\(/acls/150: 'aces' is missing\)"):
        importer.import_paths([str(tmp_path / "in.bad")], output=str(out), parsers=parsers)
    assert not out.exists() and not list(out.parent.iterdir())


def _peak_rss(listing_file: Path, out: Path) -> int:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "core"), str(ROOT / "plugins")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "iisguard", "import", str(listing_file), "-o", str(out), "--host", "BIG"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    return usage.ru_maxrss * 1024


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="peak RSS of a child needs wait4 (POSIX)")
def test_peak_memory_does_not_grow_with_the_listing(tmp_path):
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    listing(small, 15_000)
    listing(large, 60_000)  # four times the paths and bytes
    rss_small = _peak_rss(small, tmp_path / "small.json")
    rss_large = _peak_rss(large, tmp_path / "large.json")
    held = json.loads((tmp_path / "large.json").read_bytes())
    assert len(held["acls"]) == 60_000
    grown = rss_large - rss_small
    # Held in memory, 45,000 more ACLs cost well over 100 MB; spilled, a few MB of noise.
    assert grown < 25 * 2**20, (
        f"peak RSS grew by {grown / 2**20:.0f} MiB ({rss_small >> 20} -> {rss_large >> 20} MiB)"
    )
