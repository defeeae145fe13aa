"""Get-ADUser / Get-ADComputer / Get-ADServiceAccount (and Get-ADDomainController, Get-ADDomain) as
ConvertTo-Json output or Format-List text -> principals, `ad`.

Only the fields rules need are read, by name (an allow-list): SPNs, delegation, password facts,
adminCount, group membership, object class, SID, encryption types, enabled, DN, sAMAccountName.
Every other field -- Description, info, comment and any free text, which carry passwords in real
directories -- is never copied, and warnings name fields, never values.

Accounts are named `DOMAIN\\sam`: the NetBIOS domain comes from a Get-ADDomain record in the same
file, the manifest hint `netbios_domain`, or the first DC= label of the DN in upper case. A
Format-List collection shortened with `...` ($FormatEnumerationLimit) is read as incomplete: a
warning says so and the `ad` section is `partial`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..hookspecs import hookimpl
from ..model import jsonpos, sids
from ..model import uac as uac_bits
from . import console, sddl, setspn, timefmt, words
from .base import MAX_DOCUMENT_BYTES, Artifact, ArtifactRun, Builder, RunParser

# The only fields read (normalized: case-folded, dashes dropped). Anything else is dropped unread.
FIELDS = frozenset(
    {
        "samaccountname",
        "name",
        "cn",
        "distinguishedname",
        "objectclass",
        "sid",
        "objectsid",
        "enabled",
        "useraccountcontrol",
        "serviceprincipalname",
        "serviceprincipalnames",
        "trustedfordelegation",
        "trustedtoauthfordelegation",
        "accountnotdelegated",
        "msdsallowedtodelegateto",
        "principalsallowedtodelegatetoaccount",
        "msdsallowedtoactonbehalfofotheridentity",
        "passwordneverexpires",
        "passwordnotrequired",
        "passwordlastset",
        "pwdlastset",
        "admincount",
        "memberof",
        "memberoftransitive",
        "transitivememberof",
        "tokengroups",
        "tokengroupnames",
        "msdssupportedencryptiontypes",
        "lastlogondate",
        "lastlogontimestamp",
        "accountexpirationdate",
        "accountexpires",
        "dnshostname",
        "primarygroupid",
        "hostname",
        "isglobalcatalog",
        "isreadonly",
        "computerobjectdn",
        "operationmasterroles",
        "netbiosname",
        "dnsroot",
        "domainsid",
        "site",
        "ldapport",
    }
)
_CLASS_KIND = (
    ("msds-groupmanagedserviceaccount", "gmsa"),
    ("msds-managedserviceaccount", "msa"),
    ("computer", "computer"),
    ("group", "domain_group"),
    ("user", "domain_user"),
    ("inetorgperson", "domain_user"),
)


@dataclass
class _Field:
    key: str  # as written
    value: Any
    line: int
    truncated: bool = False


# Only `Get-AD* -Properties *` prints these (created/changed stamps; the AD module's CanonicalName), and it
# prints well over a hundred properties; a record with a marker and many keys lists every attribute that
# has a value, so there an absent attribute (adminCount, msDS-SupportedEncryptionTypes) is unset.
_ALL_PROPERTIES_MARKERS = frozenset({"canonicalname", "whencreated", "usncreated", "created"})
_ALL_PROPERTIES_MIN_KEYS = 40


def _all_properties(keys: set[str]) -> bool:
    return len(keys) >= _ALL_PROPERTIES_MIN_KEYS and bool(keys & _ALL_PROPERTIES_MARKERS)


@dataclass
class _Rec:
    line: int
    fields: dict[str, _Field] = field(default_factory=dict)
    all_properties: bool = False  # a `-Properties *` dump: an attribute it does not list is unset

    def get(self, *keys: str) -> Any:
        for k in keys:
            f = self.fields.get(k)
            if f is not None:
                return f.value
        return None

    def has(self, *keys: str) -> bool:
        return any(k in self.fields for k in keys)


class AdParser(RunParser):
    kind = "ad"
    sections = ("ad",)

    def detect(self, head: str, name: str) -> float:
        score = 0.0
        json_account = re.search(r'(?i)"DistinguishedName"\s*:', head) and re.search(
            r'(?i)"(?:SamAccountName|userAccountControl|ObjectClass)"\s*:', head
        )
        list_account = re.search(r"(?im)^DistinguishedName\s*:", head) and re.search(
            r"(?im)^(?:SamAccountName|ObjectClass|userAccountControl)\s*:", head
        )
        if json_account or list_account:
            score = 0.9
        elif re.search(r'(?im)^\s*"?HostName"?\s*:', head) and re.search(
            r'(?im)^\s*"?IsGlobalCatalog"?\s*:', head
        ):
            score = 0.85
        elif re.search(r'(?im)^\s*"?NetBIOSName"?\s*:', head) and re.search(
            r'(?im)^\s*"?DNSRoot"?\s*:', head
        ):
            score = 0.8
        if score and re.search(r"(?i)\bad|user|computer|account", name):
            score = min(1.0, score + 0.04)
        return score


class _Run(ArtifactRun):
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        super().__init__(artifact, builder)
        self.netbios_hint = self.hint("netbios_domain") or None
        # The attributes the capture script asked LDAP for (manifest `ad_requested`): LDAP omits unset
        # ones, so each of these was read even where a record does not carry it.
        self.requested = frozenset(
            k
            for a in str(self.hint("ad_requested") or "").split(",")
            if (k := console.keynorm(a.strip())) in FIELDS
        )
        self.netbios_by_dns: dict[str, str] = {}
        self.name_by_dn: dict[str, str] = {}

    def warn(self, line: int | None, message: str, *, problem: bool = True) -> None:
        super().warn(line, message, problem=problem)  # in AD output every skipped line is a problem

    # -- reading ------------------------------------------------------------------------------------------------
    def run(self) -> None:
        text = self.a.text(MAX_DOCUMENT_BYTES)
        body = self.skip_prompts(text)
        records = self.read_json(text) if body.lstrip().startswith(("{", "[")) else self.read_list(text)
        self.build(records)

    def skip_prompts(self, text: str) -> str:
        out = []
        for line in text.splitlines():
            if console.prompt(line) is not None or console.is_banner(line) or not line.strip():
                continue
            out.append(line)
            if len(out) > 2:
                break
        return "\n".join(out).lstrip("\ufeff")

    def read_json(self, text: str) -> list[_Rec]:
        records: list[_Rec] = []
        try:
            cuts: list[tuple[int, str]] = []
            docs = list(console.json_documents(text, 1, cuts))
        except ValueError as exc:
            self.warn(None, f"ad: {exc}")
            return records
        for no, message in cuts:
            self.warn(no, f"ad: {message}")
        for start, value, doc in docs:
            items = value if isinstance(value, list) else [value]
            pointers = [jsonpos.pointer(i) for i in range(len(items))] if isinstance(value, list) else [""]
            lines = jsonpos.lines_of(doc, pointers)
            for item, ptr in zip(items, pointers, strict=True):
                line = start + lines.get(ptr, 1) - 1
                if not isinstance(item, dict):
                    self.warn(line, "ad: skipped a JSON value that is not an object")
                    continue
                rec = _Rec(line)
                keys = set()
                for key, v in item.items():
                    k = console.keynorm(str(key))
                    keys.add(k)  # the names only: values outside FIELDS are never read
                    if k in FIELDS:
                        rec.fields[k] = _Field(str(key), v, line)
                rec.all_properties = _all_properties(keys)
                records.append(rec)
        return records

    def read_list(self, text: str) -> list[_Rec]:
        records: list[_Rec] = []

        def other(no: int, text: str) -> None:
            p = console.prompt(text)
            if p is not None:
                console.note_prompt(p, self.b)
            elif not console.is_banner(text):
                self.warn(no, "ad: skipped a line that is not part of a Format-List record", problem=False)

        for lr in console.list_records(console.numbered_text(text), on_other=other):  # not a second read
            rec = _Rec(lr.line)
            rec.all_properties = _all_properties({console.keynorm(f.key) for f in lr.fields})
            for f in lr.fields:
                k = console.keynorm(f.key)
                if k not in FIELDS:
                    continue  # never read: Description, info, comment and every other free-text field
                value = f.value
                parsed = console.brace_list(value)
                if parsed is not None:
                    items, truncated = parsed
                    rec.fields[k] = _Field(f.key, items, f.line, truncated)
                else:
                    rec.fields[k] = _Field(f.key, value, f.line)
            records.append(rec)
        return records

    # -- building -----------------------------------------------------------------------------------------------
    def build(self, records: list[_Rec]) -> None:
        for rec in records:  # domain names first, so every account gets the right NetBIOS name
            netbios, dnsroot = _text(rec.get("netbiosname")), _text(rec.get("dnsroot"))
            if netbios and dnsroot:
                self.netbios_by_dns[dnsroot.casefold()] = netbios
        for rec in records:
            dn = _text(rec.get("distinguishedname"))
            if dn and not self.is_dc_listing(rec):
                self.name_by_dn[dn.casefold()] = self.account_name(rec, dn)
        ad = self.b.data.setdefault("ad", {})
        ad["collected"] = True
        accounts: list[str] = ad.setdefault("accounts", [])
        dcs: list[dict[str, Any]] = ad.setdefault("domain_controllers", [])
        read = 0
        for rec in records:
            if self.is_dc_listing(rec):
                self.add_dc(dcs, rec)
                read += 1
            elif rec.has("samaccountname", "distinguishedname", "sid", "objectsid"):
                name = self.add_account(rec, dcs)
                if name and name not in accounts:
                    accounts.append(name)
                read += 1
            elif rec.has("netbiosname", "dnsroot"):
                dnsroot = _text(rec.get("dnsroot"))
                if dnsroot and not ad.get("domain"):
                    ad["domain"] = dnsroot.lower()
                read += 1
            else:
                self.warn(rec.line, "ad: skipped a record with no sAMAccountName, DistinguishedName or SID")
        if not dcs:
            del ad["domain_controllers"]
        if not read:
            self.b.warn(self.a, None, "ad: no account, domain or domain controller found in this file")
            self.problems += 1
        self.b.section(
            "ad",
            "partial" if self.problems else "ok",
            "some AD values are incomplete" if self.problems else "",
        )

    def is_dc_listing(self, rec: _Rec) -> bool:
        return rec.has("hostname") and rec.has(
            "isglobalcatalog", "computerobjectdn", "operationmasterroles", "isreadonly"
        )

    def add_dc(self, dcs: list[dict[str, Any]], rec: _Rec) -> None:
        fqdn = _text(rec.get("hostname"))
        name = _text(rec.get("name")) or (fqdn.split(".")[0].upper() if fqdn else None)
        if not name:
            return
        entry = {"name": name, "fqdn": fqdn.lower() if fqdn else None, "sid": None}
        if not any(d.get("name", "").casefold() == name.casefold() for d in dcs):
            dcs.append(entry)
        cdn = _text(rec.get("computerobjectdn"))
        if cdn:
            netbios = self.netbios_for(cdn)
            sam = name if name.endswith("$") else name + "$"
            self.b.principal(
                f"{netbios}\\{sam}" if netbios else sam,
                None,
                kind="computer",
                distinguished_name=cdn,
                ad_collected=True,
                evidence=self.b.evidence(self.a, rec.line),
            )

    def netbios_for(self, dn: str) -> str | None:
        if self.netbios_hint:
            return self.netbios_hint
        guess, dns = setspn.dn_domain(dn)
        if dns and dns in self.netbios_by_dns:
            return self.netbios_by_dns[dns]
        return guess

    def account_name(self, rec: _Rec, dn: str | None) -> str:
        sam = _text(rec.get("samaccountname"))
        if not sam:
            cn = _text(rec.get("cn")) or _text(rec.get("name"))
            if not cn and dn:
                rdns = setspn.split_dn(dn)
                cn = rdns[0][1] if rdns else None
            kind = self.kind_of(rec)
            sam = (cn or "") + (
                "$" if kind in ("computer", "gmsa", "msa") and cn and not cn.endswith("$") else ""
            )
        netbios = self.netbios_for(dn) if dn else self.netbios_hint
        return f"{netbios}\\{sam}" if netbios and sam else sam

    def kind_of(self, rec: _Rec) -> str | None:
        classes = [c.casefold() for c in _strings(rec.get("objectclass"))]
        for cls, kind in _CLASS_KIND:
            if cls in classes:
                return kind
        return None

    def add_account(self, rec: _Rec, dcs: list[dict[str, Any]]) -> str | None:
        dn = _text(rec.get("distinguishedname"))
        name = self.name_by_dn.get(dn.casefold()) if dn else None
        name = name or self.account_name(rec, dn)
        sid = _sid(rec.get("sid", "objectsid"))
        if not name and not sid:
            self.warn(rec.line, "ad: skipped a record with neither a name nor a SID")
            return None
        for f in rec.fields.values():
            if f.truncated:
                self.warn(
                    f.line,
                    f"ad: {f.key} of {name or sid} is shortened with '...' (Format-List shows the first few "
                    "values only): the list is incomplete; capture with $FormatEnumerationLimit = -1",
                )
        uac = _int(rec.get("useraccountcontrol"))
        facts: dict[str, Any] = {"ad_collected": True, "evidence": self.b.evidence(self.a, rec.line)}
        # Which attributes this record carried: one absent from the output was not captured, which a rule
        # must not read as empty (no RBCD entries, no SPNs).
        facts["ad_attributes"] = sorted(set(rec.fields) | self.requested)
        if rec.all_properties:
            facts["ad_all_properties"] = True
        kind = self.kind_of(rec)
        if kind:
            facts["kind"] = kind
        classes = _strings(rec.get("objectclass"))
        if classes:
            facts["object_class"] = classes[-1]
        if dn:
            facts["distinguished_name"] = dn
        enabled = words.as_bool(rec.get("enabled"))
        if enabled is None and uac is not None:
            enabled = not uac & uac_bits.ACCOUNTDISABLE
        facts["enabled"] = enabled
        never = words.as_bool(rec.get("passwordneverexpires"))
        if never is None and uac is not None:
            never = bool(uac & uac_bits.DONT_EXPIRE_PASSWORD)
        facts["password_never_expires"] = never
        not_required = words.as_bool(rec.get("passwordnotrequired"))
        if not_required is None and uac is not None:
            not_required = bool(uac & uac_bits.PASSWD_NOTREQD)
        facts["password_required"] = None if not_required is None else not not_required
        facts["password_last_set"] = self.date(rec, "pwdlastset", "passwordlastset")
        facts["last_logon"] = self.date(rec, "lastlogontimestamp", "lastlogondate")
        facts["account_expires"] = self.date(rec, "accountexpires", "accountexpirationdate")
        facts["admin_count"] = _int(rec.get("admincount"))
        facts["user_account_control"] = uac
        facts["supported_encryption_types"] = _int(rec.get("msdssupportedencryptiontypes"))
        spns = [s.strip() for s in _strings(rec.get("serviceprincipalname", "serviceprincipalnames"))]
        if spns:
            facts["spns"] = spns
        groups = [self.ref(g) for g in _strings(rec.get("memberof"))]
        groups += [
            self.ref(g) for g in _strings(rec.get("memberoftransitive", "transitivememberof", "tokengroups"))
        ]
        if groups:
            facts["member_of"] = list(dict.fromkeys(g for g in groups if g))
        self.token_group_names(rec)
        delegation = self.delegation(rec, uac, name or sid or "")
        if delegation:
            facts["delegation"] = delegation
        self.b.principal(name or None, sid, **facts)
        primary_group = _int(rec.get("primarygroupid"))
        if (uac is not None and uac & uac_bits.SERVER_TRUST_ACCOUNT) or primary_group == 516:
            short = (name or "").rsplit("\\", 1)[-1].rstrip("$")
            fqdn = _text(rec.get("dnshostname"))
            if short and not any(d.get("name", "").casefold() == short.casefold() for d in dcs):
                dcs.append({"name": short, "fqdn": fqdn.lower() if fqdn else None, "sid": sid})
        return name or sid

    def token_group_names(self, rec: _Rec) -> None:
        """tokenGroupNames (the capture script's translation of tokenGroups, in the same order) names
        each group SID, so a group without a well-known SID (DnsAdmins) is recognised by name."""
        found, names = rec.get("tokengroups"), rec.get("tokengroupnames")
        if not (isinstance(found, list) and isinstance(names, list) and len(found) == len(names)):
            return
        evidence = self.b.evidence(self.a, rec.fields["tokengroupnames"].line)
        for sid, group in zip(found, names, strict=True):
            if isinstance(sid, str) and isinstance(group, str) and group.strip() and sids.is_sid(sid):
                sid = sids.normalize_sid(sid)
                kind = "domain_group" if sid.startswith("S-1-5-21-") else None
                self.b.principal(group.strip(), sid, kind=kind, evidence=evidence)

    def date(self, rec: _Rec, exact: str, shown: str) -> str | None:
        """The FILETIME attribute (UTC) when captured, else the displayed date."""
        if rec.has(exact):
            value = rec.get(exact)
            parsed = timefmt.to_rfc3339(_int(value) if _int(value) is not None else value)
            if parsed or _int(value) is not None:
                return parsed
        return timefmt.to_rfc3339(rec.get(shown))

    def ref(self, value: str) -> str | None:
        """A DN, SID or name as a principal reference: DNs become `DOMAIN\\name`."""
        text = value.strip()
        if not text:
            return None
        if sids.is_sid(text):
            return sids.normalize_sid(text)
        if text.upper().startswith(("CN=", "OU=")) and "DC=" in text.upper():
            known = self.name_by_dn.get(text.casefold())
            if known:
                return known
            rdns = setspn.split_dn(text)
            netbios = self.netbios_for(text)
            return f"{netbios}\\{rdns[0][1]}" if netbios and rdns else (rdns[0][1] if rdns else text)
        return text

    def delegation(self, rec: _Rec, uac: int | None, who: str) -> dict[str, Any] | None:
        def flag(key: str, bit: int) -> bool | None:
            v = words.as_bool(rec.get(key))
            if v is None and uac is not None:
                v = bool(uac & bit)
            return v

        out: dict[str, Any] = {
            "unconstrained": flag("trustedfordelegation", uac_bits.TRUSTED_FOR_DELEGATION),
            "protocol_transition": flag(
                "trustedtoauthfordelegation", uac_bits.TRUSTED_TO_AUTH_FOR_DELEGATION
            ),
            "sensitive_not_delegated": flag("accountnotdelegated", uac_bits.NOT_DELEGATED),
        }
        if rec.has("msdsallowedtodelegateto"):
            out["constrained_to"] = _strings(rec.get("msdsallowedtodelegateto"))
        rbcd: list[str] = []
        if rec.has("principalsallowedtodelegatetoaccount"):
            rbcd += [
                r
                for r in (self.ref(v) for v in _strings(rec.get("principalsallowedtodelegatetoaccount")))
                if r
            ]
        raw = rec.get("msdsallowedtoactonbehalfofotheridentity")
        if isinstance(raw, list) and raw and all(isinstance(v, str) and sids.is_sid(v) for v in raw):
            rbcd += [sids.normalize_sid(v) for v in raw]  # the capture script writes the allowed SIDs
        elif raw not in (None, "", [], {}):
            text = raw.get("Sddl") or raw.get("sddl") if isinstance(raw, dict) else raw
            sd = sddl.parse_sd(text) if isinstance(text, str) else None
            if sd is None:
                line = rec.fields["msdsallowedtoactonbehalfofotheridentity"].line
                self.warn(
                    line,
                    f"ad: msDS-AllowedToActOnBehalfOfOtherIdentity of {who} is not readable SDDL; capture its .Sddl",
                )
            else:
                for ace in sd.aces:
                    if ace.type == "allow":
                        principal, sid = sddl.resolve_account(ace.account)
                        rbcd.append(sid or principal)
        if rbcd or rec.has("principalsallowedtodelegatetoaccount", "msdsallowedtoactonbehalfofotheridentity"):
            out["rbcd_from"] = list(dict.fromkeys(rbcd))
        if all(v is None for v in out.values()):
            return None
        return {k: v for k, v in out.items() if v is not None}


# -- value helpers ----------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        v = value.strip()
        return v or None
    if isinstance(value, dict):
        return _text(value.get("Value") or value.get("value"))
    if isinstance(value, list) and len(value) == 1:
        return _text(value[0])
    return None


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        v = value.strip()
        return [v] if v else []
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        t = _text(value)
        return [t] if t else []
    return [str(value)]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _sid(value: Any) -> str | None:
    t = _text(value)
    if t and sids.is_sid(t):
        return sids.normalize_sid(t)
    return None


PARSERS = [AdParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS
