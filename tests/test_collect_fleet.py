"""`iisguard collect --inventory`: bounded concurrency, one snapshot per host, failures recorded, exit 3."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from iisguard.capture.stream import encode
from iisguard.cli import main
from iisguard.collect import fleet
from iisguard.collect.script import capture_script

from .winrm_server import HostConfig, WinRMTestServer, closed_port, make_tls_files

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = sorted(
    p for p in (ROOT / "fixtures" / "hosts").glob("*/captures") if (p / "capture.yaml").is_file()
)
PRIMARY = next((p for p in CAPTURES if p.parent.name == "iis10-default"), CAPTURES[0])
PASSWORD = "Fleet-Passw0rd-77"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(tmp_path, tls, monkeypatch):
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    with WinRMTestServer(tmp_path / "srv", users={"scanner": PASSWORD}, tls=tls) as srv:
        yield srv


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """host(name, sections=..., **config): a simulated host printing the primary fixture's capture as `name`."""
    root = tmp_path_factory.mktemp("hosts")

    def make(name: str = "WEB", sections: list[dict] | None = None, **kw) -> HostConfig:
        folder = root / name
        if not folder.exists():  # the capture folder as host `name` would have written it
            shutil.copytree(PRIMARY, folder)
            manifest = folder / "capture.yaml"
            lines = manifest.read_text("utf-8").splitlines()
            manifest.write_text(
                "\n".join(f"host: {name}" if ln.startswith("host:") else ln for ln in lines), "utf-8"
            )
        kw.setdefault("stdout", encode(folder, host=name, sections=sections).encode("utf-8"))
        return HostConfig(name=name, expect_script=capture_script(), **kw)

    return make


def inventory(tmp_path: Path, tls, groups: dict[str, list[str]], extra: str = "") -> Path:
    text = (
        f"defaults:\n  ca_bundle: {tls.ca_cert}\n  read_timeout: 3\n  operation_timeout: 1\n{extra}groups:\n"
    )
    for name, hosts in groups.items():
        text += f"  {name}:\n    hosts:\n" + "".join(f"      - {h}\n" for h in hosts)
    path = tmp_path / "hosts.yaml"
    path.write_text(text, "utf-8")
    return path


def test_one_failing_host_does_not_stop_the_others(server, host, tls, tmp_path, capsys):
    good = [server.add_host(host(f"WEB{i}")) for i in range(4)]
    refused = closed_port()
    rejecting = server.add_host(host("LOCKED", fault="reject-auth"))
    partial = server.add_host(
        host(
            "HALFWAY",
            sections=[{"name": "tokens", "status": "failed", "message": "whoami could not run in the pool"}],
        )
    )
    inv = inventory(
        tmp_path,
        tls,
        {
            "web": [f"{{host: '127.0.0.1:{p}', name: web{i}}}" for i, p in enumerate(good)],
            "odd": [
                f"{{host: '127.0.0.1:{refused}', name: down}}",
                f"{{host: '127.0.0.1:{rejecting}', name: locked}}",
                f"{{host: '127.0.0.1:{partial}', name: halfway}}",
            ],
        },
    )
    out_dir = tmp_path / "out"
    code = main(["collect", "--inventory", str(inv), "--out-dir", str(out_dir), "--concurrency", "3"])
    out, err = capsys.readouterr()
    assert code == 3
    assert PASSWORD not in out + err

    names = ["web0", "web1", "web2", "web3", "down", "locked", "halfway"]
    assert sorted(p.stem for p in out_dir.glob("*.json")) == sorted(names)
    for name in ("web0", "web3", "halfway"):
        snap = json.loads((out_dir / f"{name}.json").read_text("utf-8"))
        assert snap["collection"]["source"] == "winrm" and snap["iis"]["sites"]
    down = json.loads((out_dir / "down.json").read_text("utf-8"))
    assert {s["status"] for s in down["collection"]["sections"]} == {"failed"}
    assert "connection refused" in down["collection"]["sections"][0]["message"]
    locked = json.loads((out_dir / "locked.json").read_text("utf-8"))
    assert "authentication rejected" in locked["collection"]["warnings"][0]["message"]
    halfway = json.loads((out_dir / "halfway.json").read_text("utf-8"))
    assert next(s for s in halfway["collection"]["sections"] if s["name"] == "tokens")["status"] == "failed"

    # Plain progress lines (stderr is not a terminal), one per host, then the summary table on stdout.
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == 7 and progress[-1].startswith("[7/7] ")
    table = out.splitlines()
    assert table[0].split() == ["host", "status", "time", "sections"]
    rows = {line.split()[0]: line for line in table[1:-1]}
    assert list(rows) == names  # inventory order, whatever finished first
    assert rows["web0"].split()[1] == "ok" and rows["halfway"].split()[1] == "partial"
    assert rows["down"].split()[1] == "failed" and "connection refused" in rows["down"]
    assert "1 failed (tokens)" in rows["halfway"]
    assert table[-1] == "7 host(s): 5 collected, 2 failed"

    # The folder scans as a fleet: the failed host is reported, not silently missing.
    report = tmp_path / "report.json"
    main(["scan", str(out_dir), "-f", f"json:{report}", "--fail-on", "never"])
    capsys.readouterr()
    hosts = {h["name"]: h for h in json.loads(report.read_text("utf-8"))["hosts"]}
    assert sorted(hosts) == ["HALFWAY", "WEB0", "WEB1", "WEB2", "WEB3", "down", "locked"]
    assert (
        hosts["down"]["execution_successful"] is False and hosts["HALFWAY"]["execution_successful"] is False
    )
    assert hosts["WEB0"]["execution_successful"] is True


def test_concurrency_is_bounded(server, host, tls, tmp_path, capsys):
    """The first hosts hold their shells open until 3 are open at once (or 20 s pass): the peak is what the
    fleet allows, not how fast this machine happens to be. 2 at once would mean a 20 s wait and a
    peak of 2; 4 would show as 4."""
    ports = [server.add_host(host(f"WEB{i}", rendezvous=3 if i < 3 else None)) for i in range(8)]
    inv = inventory(tmp_path, tls, {"all": [f"127.0.0.1:{p}" for p in ports]})
    code = main(
        ["collect", "--inventory", str(inv), "--out-dir", str(tmp_path / "out"), "--concurrency", "3"]
    )
    capsys.readouterr()
    assert code == 0
    assert server.shells.peak == 3  # never more than 3 hosts at once, and 3 were used
    assert len(list((tmp_path / "out").glob("*.json"))) == 8
    for p in ports:  # every host cost the same handful of requests
        assert server.stats(p).wsman_requests == server.stats(ports[0]).wsman_requests


def test_group_settings_apply_per_group(host, tls, tmp_path, capsys, monkeypatch):
    """One group over HTTPS with Basic and its own credentials, one over plain HTTP with (sealed) NTLM."""
    users = {"scanner": PASSWORD, "dmz": "dmz-only-secret"}
    monkeypatch.setenv("IISGUARD_USERNAME", "scanner")
    monkeypatch.setenv("IISGUARD_PASSWORD", PASSWORD)
    monkeypatch.setenv("DMZ_USER", "dmz")
    monkeypatch.setenv("DMZ_PASS", "dmz-only-secret")
    with (
        WinRMTestServer(tmp_path / "http", users=users) as plain,
        WinRMTestServer(tmp_path / "https", users=users, tls=tls) as secure,
    ):
        lan = plain.add_host(host(auth=frozenset({"ntlm"})))
        dmz = secure.add_host(host(auth=frozenset({"basic"})))
        path = tmp_path / "groups.yaml"
        path.write_text(
            "groups:\n"
            f"  dmz:\n    transport: basic\n    ca_bundle: {tls.ca_cert}\n"
            "    username_env: DMZ_USER\n    password_env: DMZ_PASS\n"
            f"    hosts: ['127.0.0.1:{dmz}']\n"
            f"  lan:\n    scheme: http\n    hosts: ['127.0.0.1:{lan}']\n",
            "utf-8",
        )
        code = main(["collect", "--inventory", str(path), "--out-dir", str(tmp_path / "out")])
        out, err = capsys.readouterr()
        assert code == 0, out + err
        assert secure.stats(dmz).users == {"dmz"}
        assert plain.stats(lan).users == {"scanner"}
        assert plain.stats(lan).encrypted_requests == plain.stats(lan).wsman_requests > 0
        assert "dmz-only-secret" not in out + err and PASSWORD not in out + err
        assert "plain HTTP; the WinRM messages are encrypted by NTLM message encryption" in err


def test_inventory_problems_exit_2_before_any_connection(server, host, tls, tmp_path, capsys):
    port = server.add_host(host())
    inv = inventory(
        tmp_path, tls, {"web": [f"127.0.0.1:{port}"]}, extra="  scheme: http\n  transport: basic\n"
    )
    code = main(["collect", "--inventory", str(inv), "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "refusing plain HTTP with basic" in err
    assert server.stats(port).http_requests == 0
    assert main(["collect", "--inventory", str(inv)]) == 2
    assert "--inventory needs --out-dir DIR" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_progress_bar_and_a_table(server, host, tls, tmp_path):
    ok = server.add_host(host("WEB0"))
    bad = server.add_host(host("LOCKED", fault="reject-auth"))
    inv = inventory(
        tmp_path,
        tls,
        {"g": [f"{{host: '127.0.0.1:{ok}', name: web0}}", f"{{host: '127.0.0.1:{bad}', name: locked}}"]},
    )
    progress, table = _Terminal(), _Terminal()
    results = fleet.run_fleet(
        fleet.load_inventory(inv),
        out_dir=tmp_path / "out",
        concurrency=2,
        cli_settings={},
        progress_stream=progress,
    )
    fleet.print_summary(results, table)
    assert "locked" in progress.getvalue() and "authentication rejected" in progress.getvalue()
    text = table.getvalue()
    assert "collection summary" in text and "web0" in text and "ok" in text and "failed" in text
    assert "2 host(s): 1 collected, 1 failed" in text
    assert fleet.exit_code(results) == 3
