"""Built-in rule pack: IIS-FEAT-* rules, installed role services and the server settings kept in the registry
(Web Management Service, HTTP.sys, the indexing service) rather than in applicationHost.config.

Installed state comes from ``snap.features`` (Get-WindowsFeature); registry values from ``snap.registry``.
A feature not in the captured listing, or a key that was not read, is ``not_reviewed``.
"""

from __future__ import annotations

from iisguard import fail, hookimpl, not_applicable, not_reviewed, passed, rule
from iisguard import references as refs

WMSVC_KEY = "HKLM\\SOFTWARE\\Microsoft\\WebManagement\\Server"
HTTP_PARAMETERS = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters"
CONTENT_INDEX = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\ContentIndex\\Catalogs"
HTTP_TUNING = ("URIEnableCache", "UriMaxUriBytes", "UriScavengerPeriod")


def _installed(snap, name: str, what: str):
    """(installed, record, not_reviewed result or None) for a feature."""
    state = snap.features.installed(name)
    if state is None:
        why = (
            f"{name} is not in the captured feature listing"
            if snap.features.captured
            else "installed features were not captured"
        )
        return None, None, not_reviewed(f"features/{name}", f"{why}; capture: Get-WindowsFeature ({what})")
    return state, snap.features.record(name), None


@rule(
    id="IIS-FEAT-001",
    name="features.webdav_installed",
    title="WebDAV Publishing role service installed",
    severity="medium",
    category="features",
    description="Fails when the Web-DAV-Publishing role service (IIS-WebDAV on client SKUs) is installed.",
    rationale=(
        "WebDAV lets clients write, move and lock files over HTTP; installed, it is one configuration change away "
        "from a writable web root, and its handler answers PROPFIND/OPTIONS requests that map the content."
    ),
    remediation="Uninstall-WindowsFeature Web-DAV-Publishing",
    references=[refs.STIG_218799_WEBDAV, refs.STIG_218746_WEBDAV, refs.CIS_1_7_WEBDAV],
    needs=("features",),
)
def webdav_installed(snap, params):
    """Checks: the install state of `Web-DAV-Publishing` in the captured `Get-WindowsFeature` listing
    (the STIG's "WebDAV Authoring Rules icon exists" is this role service). Not reviewed when the
    listing was not captured or does not name it.
    Why: the STIG and CIS want the feature absent, not only switched off in the configuration.
    Bad: `[X] WebDAV Publishing   Web-DAV-Publishing   Installed`.
    Good: `[ ] WebDAV Publishing   Web-DAV-Publishing   Available`.
    """
    state, record, unknown = _installed(snap, "Web-DAV-Publishing", "WebDAV Publishing")
    if unknown:
        yield unknown
    elif state:
        yield fail(
            "features/Web-DAV-Publishing",
            "WebDAV Publishing is installed: clients can be allowed to write and lock files over HTTP; remove it "
            "(Uninstall-WindowsFeature Web-DAV-Publishing) unless a documented application needs it",
            at=record,
        )
    else:
        yield passed("features/Web-DAV-Publishing", "WebDAV Publishing is not installed", at=record)


@rule(
    id="IIS-FEAT-002",
    name="features.internet_printing",
    title="Internet Printing role service installed",
    severity="medium",
    category="features",
    description="Fails when the Print-Internet role service (Internet Printing Protocol over IIS) is installed.",
    rationale=(
        "Internet Printing adds the /printers virtual directory and an ASP application to the web server, "
        "a printing service reachable over HTTP that a web server has no need for."
    ),
    remediation="Uninstall-WindowsFeature Print-Internet",
    references=[refs.STIG_218818_IPP],
    needs=("features",),
)
def internet_printing(snap, params):
    """Checks: the install state of `Print-Internet` in the captured feature listing. Not reviewed when
    the listing was not captured or does not name it.
    Why: an unneeded service on the web server (the STIG's "IPP must be disabled").
    Bad: `[X] Internet Printing   Print-Internet   Installed`.
    Good: `[ ] Internet Printing   Print-Internet   Available`.
    """
    state, record, unknown = _installed(snap, "Print-Internet", "Internet Printing")
    if unknown:
        yield unknown
    elif state:
        yield fail(
            "features/Print-Internet",
            "Internet Printing is installed on the web server; remove it: Uninstall-WindowsFeature Print-Internet",
            at=record,
        )
    else:
        yield passed("features/Print-Internet", "Internet Printing is not installed", at=record)


@rule(
    id="IIS-FEAT-003",
    name="features.smtp_relay",
    title="SMTP Server installed on the web server",
    severity="medium",
    category="features",
    description=(
        "Passes when the SMTP-Server feature is not installed (the STIG item is then not applicable); fails when it "
        "is: the relay's authentication and IP restrictions live in the IIS 6 metabase, which the capture does not "
        "read, so a person checks them and records the review as a waiver."
    ),
    rationale="An SMTP relay on a web server that relays without authentication sends mail for anyone.",
    remediation="Uninstall-WindowsFeature SMTP-Server  # or require authentication and restrict relay IPs in IIS 6 Manager",
    references=[refs.STIG_228572_SMTP],
    needs=("features",),
)
def smtp_relay(snap, params):
    """Checks: the install state of `SMTP-Server`. Not installed passes (the STIG item does not apply);
    installed fails until a person has checked the relay (authentication, TLS, allowed addresses) and
    recorded that with a waiver, since the relay settings are not captured.
    Why: the STIG's SMTP relay item applies only where the feature is present, and needs evidence.
    Bad: `[X] SMTP Server   SMTP-Server   Installed`.
    Good: `[ ] SMTP Server   SMTP-Server   Available`.
    """
    state, record, unknown = _installed(snap, "SMTP-Server", "SMTP Server")
    if unknown:
        yield unknown
    elif state:
        yield fail(
            "features/SMTP-Server",
            "SMTP Server is installed on the web server: an open relay sends mail for anyone. Remove it "
            "(Uninstall-WindowsFeature SMTP-Server), or check in IIS 6 Manager that relaying requires authentication, "
            "uses TLS and is limited to specific addresses, and record that review as a waiver",
            at=record,
        )
    else:
        yield passed(
            "features/SMTP-Server", "SMTP Server is not installed (no relay on this server)", at=record
        )


@rule(
    id="IIS-FEAT-004",
    name="features.wmsvc_remote_unrestricted",
    title="Web Management Service accepts remote connections without IP restrictions",
    severity="medium",
    category="features",
    description=(
        "Not applicable when the Management Service (Web-Mgmt-Service) is not installed or remote connections are "
        "off (EnableRemoteManagement 0); fails when they are on and no IP address restriction is configured "
        "(RemoteRestrictions absent or empty under HKLM\\SOFTWARE\\Microsoft\\WebManagement\\Server)."
    ),
    rationale=(
        "WMSvc gives remote IIS administration on port 8172; reachable from any address it exposes management "
        "logons (and, with IIS Manager users, non-Windows credentials) to every network."
    ),
    remediation=(
        "Set-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\WebManagement\\Server' -Name EnableRemoteManagement -Value 0  # or\n"
        "IIS Manager > Management Service > IP Address Restrictions: Access for unspecified clients: Deny, then Allow "
        "the management network; Restart-Service WMSvc"
    ),
    references=[refs.STIG_218812_WMSVC, refs.MS_WMSVC],
    needs=("registry",),
)
def wmsvc_remote_unrestricted(snap, params):
    """Checks: `Web-Mgmt-Service` installed (feature listing, else the WMSvc key existing), then
    `EnableRemoteManagement` and `RemoteRestrictions` under `HKLM\\SOFTWARE\\Microsoft\\WebManagement\\Server`.
    Restrictions that are present are not decoded (a serialized list): the rule then says not reviewed,
    asking a person to compare the allowed ranges with the management network.
    Why: the STIG limits remote management to known, secure address ranges.
    Bad: `EnableRemoteManagement REG_DWORD 0x1` and no `RemoteRestrictions`.
    Good: `EnableRemoteManagement 0x0`, or WMSvc not installed.
    """
    resource = "registry/WebManagement/Server"
    installed = snap.features.installed("Web-Mgmt-Service")
    exists = snap.registry.exists(WMSVC_KEY)
    if installed is False or (installed is None and exists is False):
        yield not_applicable(resource, "The Web Management Service is not installed")
        return
    if exists is None:
        yield not_reviewed(
            resource, f'The WMSvc registry key was not captured; capture: reg query "{WMSVC_KEY}"'
        )
        return
    remote = snap.registry.value(WMSVC_KEY, "EnableRemoteManagement")
    if remote is None or not remote.as_int():
        yield not_applicable(
            resource,
            "The Management Service does not accept remote connections (EnableRemoteManagement is not 1)",
            at=remote.record if remote else None,
        )
        return
    restrictions = snap.registry.value(WMSVC_KEY, "RemoteRestrictions")
    if restrictions is None or not str(restrictions.data or "").strip():
        yield fail(
            resource,
            "The Web Management Service accepts remote connections (EnableRemoteManagement=1) from any address: no IP "
            "address restriction is configured. Deny unspecified clients and allow only the management network, or "
            "turn remote connections off",
            at=remote.record,
        )
    else:
        yield not_reviewed(
            resource,
            "The Management Service accepts remote connections and has IP restrictions (RemoteRestrictions); check in "
            "IIS Manager that only known, secure ranges are allowed",
            at=restrictions.record,
        )


@rule(
    id="IIS-FEAT-005",
    name="features.httpsys_tuning",
    title="HTTP.sys URI cache settings not set explicitly",
    severity="low",
    category="features",
    description=(
        "Fails when URIEnableCache, UriMaxUriBytes or UriScavengerPeriod is absent from "
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters: the STIG asks for explicit values showing a "
        "deliberate tuning, and gives none."
    ),
    rationale=(
        "The STIG reads explicit HTTP.sys cache limits as evidence that the server was sized for its application; "
        "the defaults are reasonable, so the rule is off in the default profile and on (at medium) in stig-iis10."
    ),
    remediation=(
        "Set-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters' -Name URIEnableCache -Value 1 -Type DWord\n"
        "Set-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters' -Name UriMaxUriBytes -Value 262144 -Type DWord\n"
        "Set-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters' -Name UriScavengerPeriod -Value 120 -Type DWord"
    ),
    references=[refs.STIG_218819_TUNING, refs.MS_HTTPSYS_REGISTRY],
    needs=("registry",),
    default_enabled=False,
)
def httpsys_tuning(snap, params):
    """Checks: the three values under `HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters`.
    Not reviewed when that key was not read.
    Why: the STIG's evidence of a conscious tuning for the hosted application.
    Bad: the key holds none of them (a default install).
    Good: `URIEnableCache 0x1`, `UriMaxUriBytes 0x40000`, `UriScavengerPeriod 0x78`.
    """
    resource = "registry/HTTP/Parameters"
    if not snap.registry.read(HTTP_PARAMETERS):
        yield not_reviewed(
            resource, f'The HTTP.sys parameters were not captured; capture: reg query "{HTTP_PARAMETERS}"'
        )
        return
    values = {name: snap.registry.value(HTTP_PARAMETERS, name) for name in HTTP_TUNING}
    missing = [n for n, v in values.items() if v is None]
    if missing:
        yield fail(
            resource,
            f"HTTP.sys has no explicit {', '.join(missing)}: set them for the application's load (values under "
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters)",
            at=next((v.record for v in values.values() if v), None),
        )
    else:
        shown = ", ".join(f"{n}={v.data}" for n, v in values.items() if v)
        yield passed(
            resource, f"HTTP.sys cache settings are explicit ({shown})", at=values["URIEnableCache"].record
        )


@rule(
    id="IIS-FEAT-006",
    name="features.indexing_catalogs",
    title="Indexing Service catalogs present on the web server",
    severity="medium",
    category="features",
    description=(
        "Passes when HKLM\\SYSTEM\\CurrentControlSet\\Control\\ContentIndex\\Catalogs does not exist (no indexing: the "
        "STIG item is not applicable); when catalogs exist, what they index must be compared with the web content "
        "by a person, so the rule says not reviewed naming them."
    ),
    rationale="An index of folders beyond the web content can reveal files through a site's search function.",
    remediation="Remove-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\ContentIndex\\Catalogs\\<catalog>' -Recurse  # catalogs outside web content",
    references=[refs.STIG_218809_INDEX],
    needs=("registry",),
)
def indexing_catalogs(snap, params):
    """Checks: whether the ContentIndex `Catalogs` key exists (a missing key is recorded as read and
    absent by the `reg query` parser), then each catalog's `Scopes` values (named by the folders it
    indexes) against the folders the sites serve (`snap.content_roots`). Not reviewed when the key was
    not queried or a catalog's scopes were not captured.
    Why: the STIG wants indexing limited to web content.
    Bad: a catalog `System` whose `Scopes` holds `C:\\Users`.
    Good: `ERROR: The system was unable to find the specified registry key or value.`
    """
    resource = "registry/ContentIndex/Catalogs"
    exists = snap.registry.exists(CONTENT_INDEX)
    if exists is None:
        yield not_reviewed(
            resource, f'The ContentIndex key was not captured; capture: reg query "{CONTENT_INDEX}" /s'
        )
        return
    if not exists:
        yield passed(resource, "No indexing catalog exists on this server")
        return
    roots = list(snap.content_roots)
    for catalog in snap.registry.subkeys(CONTENT_INDEX) or [""]:
        where = f"{resource}/{catalog}" if catalog else resource
        scopes_key = f"{CONTENT_INDEX}\\{catalog}\\Scopes"
        scopes = [v.name for v in snap.registry.values(scopes_key) if v.name]
        if not catalog or not scopes:
            yield not_reviewed(
                where, f"Indexing catalog {catalog or '(unnamed)'} exists; its scopes were not captured"
            )
            continue
        outside = [
            p
            for p in scopes
            if not any((snap.path_key(p) + "\\").startswith(r.rstrip("\\") + "\\") for r in roots)
        ]
        if outside:
            yield fail(
                where,
                f"Indexing catalog {catalog} indexes folders that are not web content: {', '.join(outside[:5])}; "
                "remove those scopes or the catalog",
            )
        else:
            yield passed(where, f"Indexing catalog {catalog} indexes web content only")


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-FEAT-"],
        "description": "Built-in IIS-FEAT-* rules: installed role services, WMSvc, HTTP.sys and indexing registry settings",
    }


@hookimpl
def iisguard_register_rules():
    return [
        webdav_installed,
        internet_printing,
        smtp_relay,
        wmsvc_remote_unrestricted,
        httpsys_tuning,
        indexing_catalogs,
    ]
