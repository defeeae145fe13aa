"""User rights (secedit `[Privilege Rights]`): who holds each right, which rights are dangerous, and who
reaches a right through the groups they are in.

Holders are compared by principal key, so `*S-1-5-32-568`, `BUILTIN\\IIS_IUSRS` and `IIS_IUSRS` are
the same holder. Built once per snapshot (`snap.privileges`).

Resolved and unresolved holders: a holder is resolved when the snapshot knows who it is: a SID, a
well-known, localized or virtual account name (`IIS APPPOOL\\x`, `NT SERVICE\\x`), a domain group
known by name (Domain Admins), or an account the capture recorded with a SID or a kind. A name it
says nothing about (`ReportSvc`, `CORP\\svc_x` with no AD or local data) is unresolved: whether it is an
IIS identity, a service or a group holding everyone cannot be told, so a rule never fails or passes
on it and reports it as not reviewed (`is_resolved`, `unresolved`, `unresolved_note`). The same test
applies to the identity and groups of a captured worker token (`token_unresolved`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import accounts as _accounts
from . import sids
from .iis import IisPrincipal

if TYPE_CHECKING:
    from .accounts import Accounts
    from .snapshot import Snapshot

# Privileges an attacker turns into SYSTEM or domain compromise (RULES.md §4, "not default" rows),
# with the reason a message gives.
DANGEROUS_PRIVILEGES: dict[str, str] = {
    "SeTcbPrivilege": "acts as part of the operating system (can build tokens with any groups, i.e. SYSTEM)",
    "SeDebugPrivilege": "opens any process, including LSASS (credential theft) and SYSTEM services (code injection)",
    "SeLoadDriverPrivilege": "loads kernel drivers (a vulnerable signed driver gives kernel code execution)",
    "SeBackupPrivilege": "reads any file or registry key regardless of ACLs (SAM, SECURITY and SYSTEM hives)",
    "SeRestorePrivilege": "writes any file or registry key regardless of ACLs (replace service binaries)",
    "SeTakeOwnershipPrivilege": "takes ownership of any object and then rewrites its ACL",
    "SeCreateTokenPrivilege": "forges access tokens with any SIDs and privileges",
    "SeManageVolumePrivilege": "performs volume maintenance, which is abusable to take over system files",
    "SeSecurityPrivilege": "reads and clears the Security event log and changes audit settings",
    "SeEnableDelegationPrivilege": "marks accounts as trusted for delegation (a path to domain compromise)",
    "SeRelabelPrivilege": "changes integrity labels of objects it does not own",
    "SeTrustedCredManAccessPrivilege": "reads Credential Manager as a trusted caller",
}
# The two "Potato" halves: expected for service identities, dangerous for broad principals.
POTATO_PRIVILEGES: dict[str, str] = {
    "SeImpersonatePrivilege": "impersonates any token it captures; with a coerced SYSTEM logon this gives SYSTEM (Potato attacks)",
    "SeAssignPrimaryTokenPrivilege": "starts processes with a captured token (the other half of Potato attacks)",
}


def is_resolved(accounts: Accounts, ref: str | None) -> bool:
    """Whether a holder (as a capture shows it) names an account this snapshot can judge (module doc)."""
    text = str(ref or "").strip()
    if not text or sids.is_sid(text.lstrip("*")):
        return True
    if not accounts.key(text).startswith("name:"):
        return True  # a SID is known for it
    if _accounts.group_of(text) is not None:
        return True  # Domain Admins, DnsAdmins... by name
    return accounts.kind(text) != "unknown"


def token_unresolved(snap: Snapshot, token: Mapping[str, Any]) -> list[str]:
    """The user and groups of a captured token that carry no SID and name no account the snapshot knows."""
    out: list[str] = []
    user = token.get("identity")
    if user and not token.get("user_sid") and not is_resolved(snap.accounts, str(user)):
        out.append(str(user))
    for g in token.get("groups") or []:
        name = g.get("name")
        if name and not g.get("sid") and not is_resolved(snap.accounts, str(name)):
            out.append(str(name))
    return out


class UserRights:
    """The snapshot's user rights, looked up case-insensitively, with holders as shown and by key."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.by_name: dict[str, tuple[str, list[str]]] = {
            str(name).casefold(): (str(name), list(holders or []))
            for name, holders in snap.user_rights.items()
        }
        self._resolved: dict[str, bool] = {}

    def is_resolved(self, shown: str) -> bool:
        """Whether a holder names an account the snapshot can judge (see the module docstring)."""
        found = self._resolved.get(shown)
        if found is None:
            found = self._resolved[shown] = is_resolved(self.snap.accounts, shown)
        return found

    def unresolved(self, wanted: Iterable[str]) -> list[tuple[str, str]]:
        """(right as captured, holder as shown) for each unresolved holder of the wanted rights."""
        return [(right, shown) for right, shown, _ in self.iter(wanted) if not self.is_resolved(shown)]

    def unresolved_note(self, wanted: Iterable[str]) -> str:
        """A sentence naming the unresolved holders of the wanted rights ("" when there are none)."""
        found = self.unresolved(wanted)
        if not found:
            return ""
        listed = "; ".join(f"{right} is granted to {shown}" for right, shown in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        return (
            f"{listed}{more}, a name this capture does not resolve to a SID or a known account, so whether it "
            "is (or contains) this principal cannot be told; capture the accounts (Get-LocalUser, "
            "Get-LocalGroup, services, AD) or export the rights with SIDs (secedit /export)"
        )

    def stated(self, right: str) -> bool:
        """Whether the capture says who holds `right`.

        A whole `secedit /export` (section `user_rights` ok) omits a right nobody holds, so there an
        absent right has no holders. A fragment (lines pasted without `[Privilege Rights]`, section
        partial) or an export with unreadable lines says nothing about a right it does not list.
        """
        return right.casefold() in self.by_name or self.snap.section_status("user_rights") == "ok"

    def unknown_note(self, wanted: Iterable[str]) -> str:
        """Why the holders of the wanted rights cannot all be told ("" when they can): rights the capture
        does not state, and holders it does not resolve."""
        wanted = list(wanted)
        missing = [r for r in wanted if not self.stated(r)]
        notes = []
        if missing:
            shown = ", ".join(missing[:5]) + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else "")
            notes.append(
                f"the captured user rights do not state who holds {shown} (a fragment of the policy, or an "
                "export with unreadable lines); capture them whole with secedit /export /areas USER_RIGHTS"
            )
        unresolved = self.unresolved_note(wanted)
        if unresolved:
            notes.append(unresolved)
        return "; and ".join(notes)

    def holders(self, right: str) -> tuple[str, list[str]]:
        """(the right's name as captured, its holders as shown)."""
        return self.by_name.get(right.casefold(), (right, []))

    def iter(self, wanted: Iterable[str]) -> Iterator[tuple[str, str, str]]:
        """(right as captured, holder as shown, holder key) for each holder of each wanted right."""
        key = self.snap.accounts.key
        for right in wanted:
            name, shown_list = self.holders(right)
            for shown in shown_list:
                yield name, shown, key(shown)

    def location(self, right: str, shown: str) -> dict[str, Any]:
        """fail() keywords that locate the grant of `right` (as captured) to `shown`.

        The holder's JSON pointer in the snapshot, and the captured line that granted it where the
        import recorded one (`user_rights_evidence`, parallel to the right's list), so SARIF names the
        INF line rather than the snapshot.
        """
        granted = self.snap.user_rights.get(right) or []
        if shown not in granted:
            return {}
        i = granted.index(shown)
        token = right.replace("~", "~0").replace("/", "~1")
        out: dict[str, Any] = {"pointer": f"/user_rights/{token}/{i}"}
        lines = (self.snap.data.get("user_rights_evidence") or {}).get(right) or []
        if len(lines) == len(granted) and isinstance(lines[i], dict):
            out["at"] = {"evidence": lines[i]}
        return out

    def reach(
        self, people: Iterable[IisPrincipal], skip_groups: Iterable[str] = ()
    ) -> dict[str, list[tuple[IisPrincipal, str | None]]]:
        """holder key -> [(principal, group it is reached through or None)], through transitive membership.

        Groups in `skip_groups` are not followed: membership of Administrators or Backup Operators is a
        finding of its own (IIS-POOL-002, IIS-ANON-001, IIS-HOST-002), not one per right those groups hold.
        """
        accounts = self.snap.accounts
        skip = set(skip_groups)
        index: dict[str, list[tuple[IisPrincipal, str | None]]] = {}
        for person in people:
            index.setdefault(person.key, []).append((person, None))
            for group in accounts.groups_of(accounts.ref(person.key)):
                if group not in skip:
                    index.setdefault(group, []).append((person, group))
        return index

    def unjudged_group_holders(self, holders: Iterable[str], skip: Iterable[str] = ()) -> list[str]:
        """Groups among `holders` (as shown) that a principal might be in, when no membership was captured.

        Empty when any group membership was captured. Otherwise the groups (local or domain groups, and
        BUILTIN\\* aliases) not in `skip`: a rule cannot say a principal lacks a right such a group holds.
        """
        accounts = self.snap.accounts
        if accounts.membership_captured():
            return []
        skipped = set(skip)
        out: dict[str, str] = {}
        for shown in holders:
            key = accounts.key(shown)
            if key in skipped or key in out:
                continue
            if accounts.is_group(shown):
                out[key] = accounts.shown(shown)
        return sorted(out.values())
