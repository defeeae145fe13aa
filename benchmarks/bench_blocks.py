"""Block splitting and detection of a big pasted transcript: time per MB and peak memory against its size.

    .venv/bin/python benchmarks/bench_blocks.py                      # 5, 10, 20 and 40 MB, every variant
    .venv/bin/python benchmarks/bench_blocks.py --sizes 10,80 --variants crlf,utf16

A transcript is many commands one after another, as an evil-winrm or `Start-Transcript` session holds
them: `whoami /priv`, `net user x`, `icacls` of a folder, header-less user-rights lines, `setspn -L`,
each after a prompt (PowerShell, cmd.exe, evil-winrm, a remoting `[host]:` prompt) and some after a
script's `===== marker =====`. Variants: `lf`; `indented` (every line indented four spaces, as a paste
into a ticket or a Markdown code block); `crlf`; `utf16` (UTF-16 LE with a BOM and CRLF, what Windows
PowerShell 5.1's `>` writes). Each file is written once to benchmarks/out/blocks/ (deterministic).

Measured in a child process per file (the same code path `iisguard import` takes for a paste):
`blocks.plan()` (the streamed pass that finds the blocks, detection of each block by every built-in
parser, the second pass that hands each run of blocks to its parser as an artifact of its own) and
`blocks.cleanup()`. Printed per size: wall and CPU time, CPU seconds per MB and its ratio to the
smallest size (1.0 everywhere = linear time; CPU, because wall time on a shared machine follows its
load), blocks and parts found, and the child's own peak RSS (flat = memory does not grow with the
paste: a part over 8 MB is spilled to a temporary file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import OUT, PYTHON, machine, run  # noqa: E402

VARIANTS = ("lf", "indented", "crlf", "utf16")

CHILD = """
import json, sys, time
from pathlib import Path
from iisguard.capture import blocks, registry
from iisguard.capture.base import Artifact
path = Path(sys.argv[1])
parsers = registry.builtin_parsers()
t = time.perf_counter()
c = time.process_time()
art = Artifact(source=path, path=path.name)
parts = blocks.plan(art, parsers)
if parts is None:
    raise SystemExit("not split: the paste was read whole")
spilled = sum(1 for p in parts if p.spill)
blocks.cleanup(parts)
elapsed = time.perf_counter() - t
cpu = time.process_time() - c
count = len(blocks.scan(art)[0])
print(json.dumps({"seconds": elapsed, "cpu": cpu, "parts": len(parts), "blocks": count, "spilled": spilled,
                  "kinds": sorted({p.parser.kind for p in parts if p.parser is not None})}))
"""


def session(i: int) -> list[str]:
    """One stretch of a transcript: five commands with their output (deterministic by `i`)."""
    host = f"web{i % 97:02d}"
    user = f"svc_app{i % 13}"
    site = f"D:\\Sites\\site{i:06d}"
    pad = " " * (len(site) + 1)
    prompts = (
        f"*Evil-WinRM* PS C:\\Users\\{user}\\Documents> ",
        f"[{host}.corp.example]: PS C:\\inetpub> ",
        "C:\\Windows\\system32>",
        "PS C:\\> ",
    )
    p = prompts[i % len(prompts)]
    lines = [
        f"{p}whoami /priv",
        "",
        "PRIVILEGES INFORMATION",
        "----------------------",
        "",
        "Privilege Name                Description                               State",
        "============================= ========================================= ========",
        "SeAssignPrimaryTokenPrivilege Replace a process level token             Disabled",
        "SeIncreaseQuotaPrivilege      Adjust memory quotas for a process        Disabled",
        "SeChangeNotifyPrivilege       Bypass traverse checking                  Enabled",
        "SeImpersonatePrivilege        Impersonate a client after authentication Enabled",
        "SeCreateGlobalPrivilege       Create global objects                     Enabled",
        "",
        f"{p}net user {user}",
        f"User name                    {user}",
        "Full Name                    Application service",
        "Account active               Yes",
        "Password last set            3/4/2025 10:15:01 AM",
        "Password expires             Never",
        "",
        "Local Group Memberships      *IIS_IUSRS            *Users",
        "Global Group memberships     *None",
        "The command completed successfully.",
        "",
        f"{p}icacls {site}",
        f"{site} IIS APPPOOL\\Site{i:06d}:(OI)(CI)(RX)",
        f"{pad}NT AUTHORITY\\SYSTEM:(I)(OI)(CI)(F)",
        f"{pad}BUILTIN\\Administrators:(I)(OI)(CI)(F)",
        f"{pad}CREATOR OWNER:(I)(OI)(CI)(IO)(F)",
        f"{pad}BUILTIN\\Users:(I)(OI)(CI)(RX)",
        "",
        "Successfully processed 1 files; Failed processing 0 files",
        f"===== user rights {i} =====",
        "SeServiceLogonRight = *S-1-5-80-0,*S-1-5-20",
        f"SeImpersonatePrivilege = *S-1-5-19,*S-1-5-20,*S-1-5-32-544,*S-1-5-6,*S-1-5-32-568,{user}",
        f"{p}setspn -L {user}",
        f"Registered ServicePrincipalNames for CN={user},OU=Service,DC=corp,DC=example:",
        f"        HTTP/{host}.corp.example",
        f"        HTTP/{host}",
        "",
    ]
    return lines


def transcript(path: Path, size: int, variant: str) -> None:
    """Write a transcript of about `size` bytes (counted as text) in the variant's shape."""
    encoding = "utf-16-le" if variant == "utf16" else "utf-8"
    newline = "\n" if variant in ("lf", "indented") else "\r\n"
    indent = "    " if variant == "indented" else ""
    written = 0
    i = 0
    with path.open("wb") as fh:
        if variant == "utf16":
            fh.write(b"\xff\xfe")
        while written < size:
            stretch = []
            for _ in range(50):
                i += 1
                stretch.extend(session(i))
            chunk = "".join(f"{indent}{line}{newline}" for line in stretch)
            fh.write(chunk.encode(encoding))
            written += len(chunk)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5,10,20,40", help="transcript sizes in MB of text (comma-separated)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    args = ap.parse_args()
    folder = OUT / "blocks"
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"Machine: {machine()}\n")
    print(
        "| variant | transcript | file | blocks | parts | wall | CPU | CPU s/MB | ratio to smallest | peak RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for variant in args.variants.split(","):
        base: float | None = None
        for size in sizes:
            source = folder / f"transcript-{variant}-{size}MB.txt"
            if not source.exists():
                transcript(source, size * 1_000_000, variant)
            r = run([PYTHON, "-c", CHILD, str(source)])
            if r.returncode:
                print(r.stderr, file=sys.stderr)
                return 1
            got = json.loads(r.stdout.strip().splitlines()[-1])
            per_mb = got["cpu"] / size  # CPU time: the wall time of a shared machine varies with its load
            base = base or per_mb
            print(
                f"| {variant} | {size} MB | {source.stat().st_size / 1e6:,.1f} MB | {got['blocks']:,} "
                f"| {got['parts']:,} | {got['seconds']:.1f} s | {got['cpu']:.1f} s | {per_mb:.3f} "
                f"| {per_mb / base:.2f} | {r.peak_rss / 2**20:,.0f} MiB |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
