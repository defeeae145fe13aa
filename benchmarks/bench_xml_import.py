"""`iisguard import` of applicationHost.config files of many pools and sites: peak RSS per input MB
and per XML element, by layout (issue #18, case 7).

    python benchmarks/bench_xml_import.py              # 35,000 pools + sites; 250,000 one-line pools
    python benchmarks/bench_xml_import.py --scale 0.2

Layouts: `pools` (one `<add name="Pn" />` per line, the worst case: 20 bytes of input, about 1 KB
of snapshot per pool), `one-line` (pools and sites, one element per line), `single` (the whole file
on one line), `indented` (as IIS writes it). The last row is the issue's 11 MB file of 500,000
one-line pools, over the element limit: it must be refused (exit 2) in seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _measure as m  # noqa: E402


def pools_only(n: int) -> str:
    body = "".join(f'<add name="P{i}" />\n' for i in range(n))
    return f"<configuration><system.applicationHost><applicationPools>\n{body}</applicationPools></system.applicationHost></configuration>\n"


def pools_and_sites(n: int, layout: str) -> str:
    nl = "" if layout == "single" else "\n"
    out = ["<configuration>", nl, "<system.applicationHost>", nl, "<applicationPools>", nl]
    for i in range(n):
        if layout == "indented":
            out.append(
                f'      <add name="P{i}">\n        <processModel identityType="ApplicationPoolIdentity" />\n      </add>\n'
            )
        else:
            out.append(f'<add name="P{i}" />{nl}')
    out += ["</applicationPools>", nl, "<sites>", nl]
    for i in range(n):
        site = (
            f'<site name="S{i}" id="{i + 1}"><application path="/" applicationPool="P{i}">'
            f'<virtualDirectory path="/" physicalPath="C:\\inetpub\\s{i}" /></application>'
            f'<bindings><binding protocol="http" bindingInformation="*:80:s{i}" /></bindings></site>'
        )
        out.append(site.replace("><", ">\n        <") + "\n" if layout == "indented" else site + nl)
    out += ["</sites>", nl, "</system.applicationHost>", nl, "</configuration>", nl]
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    print(f"machine: {m.machine()}")
    n = int(35_000 * args.scale)
    cases = [
        ("pools, one per line (at the limit)", pools_only(int(249_990 * args.scale)), 0),
        ("pools + sites, one element per line", pools_and_sites(n, "one-line"), 0),
        ("pools + sites, one single line", pools_and_sites(n, "single"), 0),
        ("pools + sites, indented", pools_and_sites(n, "indented"), 0),
        ("500,000 one-line pools (11 MB, over the limit)", pools_only(500_000), 2),
    ]
    print(
        "| applicationHost.config | size | elements | exit | time | peak RSS | RSS / input MB | RSS / element |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, text, expected in cases:
        with tempfile.TemporaryDirectory(prefix="iisguard-xml-") as tmp:
            config = Path(tmp) / "applicationHost.config"
            config.write_text(text, "utf-8")
            r = m.run(m.iisguard("import", str(config), "-o", str(Path(tmp) / "s.json")), cwd=Path(tmp))
            if r.returncode != expected:
                raise SystemExit(f"{label}: exit {r.returncode}, expected {expected}:\n{r.stderr[-2000:]}")
            elements = text.count("<") - text.count("</")
            size = len(text.encode())
            print(
                f"| {label} | {m.mb(size)} | {elements:,} | {r.returncode} | {r.seconds:.1f} s | {m.mb(r.peak_rss)} "
                f"| {r.peak_rss / size:.0f}x | {r.peak_rss / elements / 1024:.1f} KB |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
