"""The line-reading parsers share one skeleton: a stateless RunParser and a fresh ArtifactRun per file."""

from __future__ import annotations

from pathlib import Path

from iisguard.capture import registry
from iisguard.capture.base import Artifact, ArtifactRun, Builder, RunParser

LINE_READERS = {"icacls", "secedit", "setspn", "whoami", "sddl", "local_accounts", "ad"}


def test_the_line_reading_parsers_use_the_skeleton():
    by_kind = {p.kind: p for p in registry.builtin_parsers()}
    for kind in LINE_READERS:
        parser = by_kind[kind]
        assert isinstance(parser, RunParser), kind
        assert issubclass(parser.reader, ArtifactRun) and parser.reader is not ArtifactRun, kind
    sources = Path(registry.__file__).parent.glob("*.py")
    copies = [p.name for p in sources if "_Run(artifact, builder).run()" in p.read_text()]
    assert copies == []


def test_each_file_gets_a_fresh_run(tmp_path):
    (icacls,) = [p for p in registry.builtin_parsers() if p.kind == "icacls"]
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("C:\\inetpub\\wwwroot BUILTIN\\IIS_IUSRS:(RX)\n")
    # a listing that starts with an ACE line: it must not continue the previous file's path
    second.write_text("                   Everyone:(F)\nD:\\sites NT AUTHORITY\\SYSTEM:(F)\n")
    builder = Builder("WEB01")
    icacls.parse(Artifact(first, "a.txt"), builder)
    icacls.parse(Artifact(second, "b.txt"), builder)
    paths = {acl["path"]: [a["principal"] for a in acl["aces"]] for acl in builder.data["acls"]}
    assert "Everyone" not in " ".join(paths.get("C:\\inetpub\\wwwroot", []))
    assert set(paths) == {"C:\\inetpub\\wwwroot", "D:\\sites"}


class _Counting(ArtifactRun):
    def run(self) -> None:
        self.warn(1, "noted")
        self.warn(2, "unreadable", problem=True)


def test_artifact_run_warns_counts_problems_and_reads_hints(tmp_path):
    file = tmp_path / "x.txt"
    file.write_text("x\n")
    builder = Builder("WEB01")
    run = _Counting(Artifact(file, "x.txt", hint={"acl_path": "D:\\web", "group": 3}), builder)
    run.run()
    assert run.problems == 1
    assert [(w["line"], w["message"]) for w in builder.warnings] == [(1, "noted"), (2, "unreadable")]
    assert run.hint("acl_path") == "D:\\web" and run.hint("group") is None and run.hint("missing") is None
