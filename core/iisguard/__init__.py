"""iisguard: a policy-as-code compliance scanner for the identities Microsoft IIS servers run under.

The public API for rule-pack authors and for programs is what this module exports; nothing
deeper is promised. ``iisguard.scan(snapshots, profile=..., policy=...)`` runs the whole scan
pipeline and returns a :class:`Report` (see :mod:`iisguard.pipeline`).

The domain model a rule asks (built once per snapshot, reached from the `Snapshot`):

- `snap.accounts` (`accounts`): one resolver for SIDs, DOMAIN\\name, UPNs, DNs and localized
  names; `scope()`; transitive group membership; `membership()` -> yes / no / unknown against the
  one table `accounts.PRIVILEGED_GROUPS`.
- `snap.pools`, `snap.locations`, `snap.content_roots`, `snap.iis_principals` (`iis`): application
  pools (IIS 7+ and IIS 6) with their effective identity and worker principals, locations with their
  effective authentication and anonymous identity, content folders with their ACLs, resource keys.
- `acls` (each ACE's principal key, whether it grants write/modify/full) and `rights` (icacls codes).
- `snap.settings`, `snap.setting(section, attribute, scope)` (`settings`): the effective IIS and ASP.NET
  settings (request filtering, errors, logging, session state, pools...) per server, site, application
  and pool, resolved through locations, web.config overrides and locks, with the IIS schema defaults.
- `snap.privileges` (`userrights`): who holds each user right, directly or through groups.
- `snap.kerberos` (`kerberos`): domain identities IIS uses, the ticket-decrypting identity, SPNs.
- `snap.registry` (`registry`): captured registry values, and whether a key was read at all.
- `snap.tls` (`tls`): SCHANNEL protocols and ciphers with Windows' defaults per OS build, the cipher
  suite order, .NET strong crypto; `snap.features` (`features`): installed roles and role services.
- `names` (spellings of accounts, globs), `sids` (well-known SIDs), `uac` (AD account flags).
- `references`: the sources rules cite (CIS, STIG, Microsoft docs, PingCastle, BloodHound).
"""

from __future__ import annotations

from . import references
from .engine import compliance
from .engine.evaluate import Report
from .engine.findings import (
    Evidence,
    Finding,
    Outcome,
    Result,
    Severity,
    fail,
    not_applicable,
    not_reviewed,
    passed,
)
from .engine.rule import Parameter, Reference, Rule, rule
from .errors import (
    CaptureError,
    CollectionError,
    IisguardError,
    PluginError,
    PolicyError,
    SnapshotError,
    UsageError,
)
from .hookspecs import hookimpl
from .model import (
    accounts,
    acls,
    features,
    iis,
    kerberos,
    names,
    registry,
    rights,
    settings,
    sids,
    tls,
    uac,
    userrights,
)
from .model.accounts import Account, Accounts, Directory, Membership, PrivilegedGroup
from .model.iis import ContentRoot, Identity, IisPrincipal, Location, Pool
from .model.settings import Setting
from .model.snapshot import Snapshot
from .pipeline import scan
from .plugins import Plugins, load_plugins
from .version import __version__

identities = iis  # the former name of the `iis` module, kept for packs written against it

__all__ = [
    "Account",
    "Accounts",
    "ContentRoot",
    "Directory",
    "Identity",
    "IisPrincipal",
    "Location",
    "Membership",
    "Pool",
    "PrivilegedGroup",
    "accounts",
    "acls",
    "features",
    "registry",
    "tls",
    "iis",
    "kerberos",
    "names",
    "rights",
    "settings",
    "userrights",
    "references",
    "CaptureError",
    "CollectionError",
    "Evidence",
    "Finding",
    "IisguardError",
    "Outcome",
    "Parameter",
    "PluginError",
    "Plugins",
    "PolicyError",
    "Reference",
    "Report",
    "Result",
    "Rule",
    "Setting",
    "Severity",
    "Snapshot",
    "SnapshotError",
    "UsageError",
    "compliance",
    "fail",
    "hookimpl",
    "identities",
    "load_plugins",
    "not_applicable",
    "not_reviewed",
    "passed",
    "rule",
    "scan",
    "sids",
    "uac",
    "__version__",
]
