"""#11 item 5 for user rights: a right the capture does not state is unknown, not "held by nobody".

`secedit /export` omits a right nobody holds, so in a whole export an absent right has no holders. Lines
pasted without their `[Privilege Rights]` header (Select-String, findstr) state only the rights they list:
the rules that read the others return not_reviewed for them instead of passing.
"""

from __future__ import annotations

from pathlib import Path

import iisguard
from iisguard.capture.importer import import_paths

APPHOST = """<configuration><system.applicationHost>
  <applicationPools><add name="Portal" /></applicationPools>
  <sites><site name="Portal" id="1">
    <application path="/" applicationPool="Portal"><virtualDirectory path="/" physicalPath="D:\\Portal" /></application>
  </site></sites>
</system.applicationHost></configuration>
"""
FRAGMENT = (
    "PS C:\\> Select-String -Path C:\\temp\\rights.inf -Pattern Impersonate\n\n"
    "C:\\temp\\rights.inf:31:SeImpersonatePrivilege = *S-1-5-32-544,*S-1-5-6,*S-1-5-19,*S-1-5-20,*S-1-5-32-568\n"
)
WHOLE = (
    "[Unicode]\nUnicode=yes\n[Privilege Rights]\n"
    "SeImpersonatePrivilege = *S-1-5-32-544,*S-1-5-6,*S-1-5-19,*S-1-5-20,*S-1-5-32-568\n"
    "SeAssignPrimaryTokenPrivilege = *S-1-5-19,*S-1-5-20\n"
    "SeDebugPrivilege = *S-1-5-32-544\n"
    "SeInteractiveLogonRight = *S-1-5-32-544\n"
    '[Version]\nsignature="$CHICAGO$"\nRevision=1\n'
)


def snapshot(tmp_path: Path, rights: str, name: str) -> Path:
    folder = tmp_path / "cap"
    (folder / "iis").mkdir(parents=True)
    (folder / "iis" / "applicationHost.config").write_text(APPHOST)
    (folder / name).write_text(rights)
    out = tmp_path / "snapshot.json"
    import_paths([str(folder)], output=str(out), host="WEB7")
    return out


def outcomes(path: Path, builtin_plugins, rule: str) -> dict[str, tuple[str, str]]:
    report = iisguard.scan(path, plugins=builtin_plugins, rules=[rule])
    return {f.resource: (f.outcome.value, f.message) for f in report.findings()}


def test_a_fragment_states_only_the_rights_it_lists(tmp_path, builtin_plugins):
    snap = snapshot(tmp_path, FRAGMENT, "rights.txt")
    got = outcomes(snap, builtin_plugins, "IIS-PRIV-001")  # SeImpersonate / SeAssignPrimaryToken holders
    # The listed right is judged; the one the fragment does not list is not "held by nobody".
    assert got["user_rights/SeImpersonatePrivilege/S-1-5-32-568"][0] == "pass", got
    outcome, message = got["user_rights/SeAssignPrimaryTokenPrivilege"]
    assert outcome == "not_reviewed" and "do not state who holds SeAssignPrimaryTokenPrivilege" in message
    broad = outcomes(snap, builtin_plugins, "IIS-PRIV-003")
    assert broad["user_rights/SeImpersonatePrivilege"][0] == "pass", broad
    assert broad["user_rights/SeDebugPrivilege"][0] == "not_reviewed", broad
    for rule in ("IIS-PRIV-002", "IIS-PRIV-006"):
        judged = {o for o, _ in outcomes(snap, builtin_plugins, rule).values()}
        assert "pass" not in judged, (rule, judged)
        assert "not_reviewed" in judged, (rule, judged)


def test_a_whole_export_states_every_right(tmp_path, builtin_plugins):
    snap = snapshot(tmp_path, WHOLE, "rights.inf")
    got = outcomes(snap, builtin_plugins, "IIS-PRIV-003")
    assert got["user_rights/SeTcbPrivilege"] == ("pass", "No broad principal holds SeTcbPrivilege"), got
    for rule in ("IIS-PRIV-002", "IIS-PRIV-006"):
        judged = {o for o, _ in outcomes(snap, builtin_plugins, rule).values()}
        assert "not_reviewed" not in judged and "pass" in judged, (rule, judged)
