"""Built-in rule pack: IIS-CFG-011..020, what the server exposes and how (issue #19): directory browsing,
error detail, MIME maps and handlers for programs, WebDAV, ISAPI/CGI restrictions, ARR proxy, content
partition, host headers and dynamic IP restrictions."""

from __future__ import annotations

from iisguard import Parameter, fail, hookimpl, iis, not_applicable, passed, rule
from iisguard import references as refs
from iisguard import settings as st

from .hardening_common import bad, bad_item, good, good_items, item_where, judge, label, resource, unknown

DIR_BROWSE = "system.webServer/directoryBrowse"
HTTP_ERRORS = "system.webServer/httpErrors"
STATIC = "system.webServer/staticContent"
HANDLERS = "system.webServer/handlers"
WEBDAV = "system.webServer/webdav/authoring"
ISAPI_CGI = "system.webServer/security/isapiCgiRestriction"
PROXY = "system.webServer/proxy"
DYN_IP = "system.webServer/security/dynamicIpSecurity"


@rule(
    id="IIS-CFG-011",
    name="cfg.directory_browsing",
    title="Directory browsing enabled",
    severity="medium",
    category="hardening",
    description="directoryBrowse enabled is true at the server, a site, an application or a folder.",
    rationale="A directory listing shows every file in the folder, backups, configuration copies and "
    "uploads included, to anyone who asks for a URL without a default document.",
    remediation="appcmd set config /section:system.webServer/directoryBrowse /enabled:false /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.webServer/directoryBrowse "
    "-Name enabled -Value False",
    references=[refs.STIG_218808, refs.STIG_218759, refs.CIS_1_3, refs.MS_DIRECTORY_BROWSE],
    needs=("iis",),
)
def directory_browsing(snap, params):
    """Checks: the effective `directoryBrowse/@enabled` at the server and every site, application or folder
    that sets it (applicationHost.config, `<location>` tags, web.config files, as IIS merges them);
    absent, the IIS default (false) passes.
    Why: STIG V-218808 (server), V-218759 (site) and CIS 1.3 require directory browsing off.
    Bad: `<directoryBrowse enabled="true"/>` in a site's web.config.
    Good: `<directoryBrowse enabled="false"/>`, or nothing.
    """
    yield from judge(
        snap,
        DIR_BROWSE,
        "enabled",
        lambda s: None if s.flag() is None else not s.flag(),
        lambda s: (
            f"directory browsing is enabled {s.where}, so a URL without a default document "
            "lists every file of the folder; disable it."
        ),
        lambda s: f"directory browsing is disabled {s.where}.",
    )


@rule(
    id="IIS-CFG-012",
    name="cfg.detailed_errors",
    title="Detailed errors sent to remote clients",
    severity="medium",
    category="hardening",
    description="httpErrors errorMode is Detailed at the server, a site or an application: remote clients "
    "get IIS's detailed error pages.",
    rationale="Detailed error pages reveal physical paths, module names, configuration excerpts and the "
    "server version, which map the server for an attacker.",
    remediation="appcmd set config /section:system.webServer/httpErrors /errorMode:DetailedLocalOnly "
    "/commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath 'IIS:\\Sites\\<site>' -Filter system.webServer/httpErrors "
    "-Name errorMode -Value DetailedLocalOnly",
    references=[refs.STIG_218810, refs.STIG_218760, refs.CIS_3_4, refs.MS_HTTP_ERRORS],
    needs=("iis",),
)
def detailed_errors(snap, params):
    """Checks: the effective `httpErrors/@errorMode` at the server and every site, application or folder
    that sets it; DetailedLocalOnly (the IIS default) and Custom pass, Detailed fails. A web.config may
    set it only where httpErrors is unlocked (IIS ships it with overrideModeDefault="Allow").
    Why: STIG V-218810 (server), V-218760 (site) and CIS 3.4 keep detailed errors local.
    Bad: `<httpErrors errorMode="Detailed"/>`.
    Good: `<httpErrors errorMode="DetailedLocalOnly"/>` or "Custom".
    """
    yield from judge(
        snap,
        HTTP_ERRORS,
        "errorMode",
        lambda s: (
            (s.value or "").strip().casefold() in ("detailedlocalonly", "custom")
            if (s.value or "").strip().casefold() in ("detailedlocalonly", "custom", "detailed")
            else None
        ),
        lambda s: (
            f"httpErrors errorMode is {s.value} {s.where}, so remote clients see detailed "
            "error pages with paths and configuration; set it to DetailedLocalOnly or Custom."
        ),
        lambda s: f"errorMode is {s.value} {s.where}.",
    )


SHELL_MIME = [".exe", ".dll", ".com", ".bat", ".csh"]


@rule(
    id="IIS-CFG-013",
    name="cfg.shell_mime_types",
    title="MIME types for OS shell programs configured",
    severity="medium",
    category="hardening",
    description="The effective staticContent collection maps an OS shell program extension (.exe, .dll, "
    ".com, .bat, .csh) to a MIME type, so IIS serves such files as downloads.",
    rationale="Serving executables and shell scripts lets an attacker who drops one into the content "
    "distribute it from a trusted server, and exposes programs that were never meant to leave it.",
    remediation="appcmd set config /section:staticContent /-\"[fileExtension='.exe']\" /commit:apphost\n"
    "Remove-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/staticContent -Name . "
    "-AtElement @{fileExtension='.exe'}",
    references=[refs.STIG_218798, refs.STIG_218743, refs.MS_STATIC_CONTENT],
    parameters=[Parameter("extensions", SHELL_MIME, "Extensions that must have no MIME map")],
    needs=("iis",),
)
def shell_mime_types(snap, params):
    """Checks: the merged `staticContent` mimeMap collection (add, remove, clear through every level) at
    the server and every site, application or folder that changes it, for the `extensions` listed.
    Why: STIG V-218798 (server) and V-218743 (site) require the MIME types of OS shell programs removed.
    Bad: `<mimeMap fileExtension=".exe" mimeType="application/octet-stream"/>`.
    Good: no mimeMap for .exe, .dll, .com, .bat or .csh (or a `<remove fileExtension=".exe"/>`).
    """
    wanted = {e.casefold() for e in params["extensions"]}
    for scope in snap.settings.scopes(STATIC):
        res, who = resource(STATIC, scope), label(STATIC, scope, snap)
        maps = snap.settings.items(STATIC, "", scope)
        if not maps.known:
            yield unknown(res, who, snap.setting(STATIC, "mimeMap", scope))
            continue
        found = [i for i in maps if (i.get("fileExtension") or "").casefold() in wanted]
        if found:
            shown = ", ".join(f"{i.get('fileExtension')} ({i.get('mimeType')})" for i in found)
            yield bad_item(
                res,
                f"{who}: MIME types are configured for {shown} {item_where(found[0])}, so IIS serves these "
                "programs to anyone; remove the mimeMap entries.",
                found[0],
                maps,
            )
        else:
            yield good_items(res, f"{who}: no MIME type for {', '.join(sorted(wanted))}.", maps)


LEGACY_SCRIPT_MAPS = ["*.htr", "*.idc", "*.printer", "*.ida", "*.idq", "*.htw", "*.stm", "*.shtm", "*.shtml"]


@rule(
    id="IIS-CFG-014",
    name="cfg.unused_script_mappings",
    title="Handler mapped for a black-listed script extension",
    severity="medium",
    category="hardening",
    description="The effective handlers collection maps a path on the black list (by default IIS 4-6 era "
    "script maps and server-side includes: .htr, .idc, .printer, .ida, .idq, .htw, .stm, .shtm, .shtml).",
    rationale="Mappings to unused and historically vulnerable script engines widen the attack surface for "
    "no benefit (IPP .printer, Index Server .ida/.idq and .htr overflows were wormable).",
    remediation="appcmd set config /section:system.webServer/handlers /-\"[name='SSINC-shtml']\" "
    "/commit:apphost\n"
    "Remove-WebHandler -Name SSINC-shtml -PSPath 'IIS:\\Sites\\<site>'",
    references=[refs.STIG_218744, refs.MS_HANDLERS],
    parameters=[Parameter("denied_paths", LEGACY_SCRIPT_MAPS, "Handler paths (the ISSO's black list)")],
    needs=("iis",),
)
def unused_script_mappings(snap, params):
    """Checks: the merged `handlers` collection at the server and every site, application or folder that
    changes it, for handlers whose `path` is on `denied_paths` (compared case-insensitively). The STIG
    leaves the black list to the ISSO; the default list holds script maps no current application needs.
    Why: STIG V-218744 requires mappings to unused and vulnerable scripts removed.
    Bad: `<add name="SSINC-shtml" path="*.shtml" verb="GET,HEAD,POST" modules="ServerSideIncludeModule"/>`.
    Good: no handler for a listed path.
    """
    denied = {p.casefold() for p in params["denied_paths"]}
    for scope in snap.settings.scopes(HANDLERS):
        res, who = resource(HANDLERS, scope), label(HANDLERS, scope, snap)
        handlers = snap.settings.items(HANDLERS, "", scope)
        if not handlers.known:
            yield unknown(res, who, snap.setting(HANDLERS, "accessPolicy", scope))
            continue
        found = [h for h in handlers if (h.get("path") or "").casefold() in denied]
        if found:
            shown = ", ".join(f"{h.get('name')} ({h.get('path')})" for h in found)
            yield bad_item(
                res,
                f"{who}: handlers are mapped for black-listed paths: {shown} {item_where(found[0])}; remove "
                "the mappings the sites do not use.",
                found[0],
                handlers,
            )
        else:
            yield good_items(res, f"{who}: no handler is mapped for a black-listed path.", handlers)


@rule(
    id="IIS-CFG-015",
    name="cfg.webdav",
    title="WebDAV publishing enabled",
    severity="medium",
    category="hardening",
    description="The WebDAV module is registered (globalModules) and WebDAV authoring is enabled at the "
    "server, a site or an application.",
    rationale="WebDAV lets clients create, change and delete files over HTTP; on a content server it is a "
    "write path into the web root and a source of PROPFIND information disclosure.",
    remediation="appcmd set config /section:system.webServer/webdav/authoring /enabled:false /commit:apphost\n"
    "Uninstall-WindowsFeature Web-DAV-Publishing",
    references=[refs.STIG_218746_WEBDAV, refs.STIG_218799_WEBDAV, refs.CIS_1_7_WEBDAV, refs.MS_WEBDAV],
    needs=("iis",),
)
def webdav(snap, params):
    """Checks: whether `WebDAVModule` is in the server's globalModules (the WebDAV Publishing role service
    is installed and loaded), and the effective `webdav/authoring/@enabled` at the server and every site,
    application or folder that sets it. Authoring enabled with the module loaded fails; the module
    loaded with authoring off everywhere passes here (the feature rules report the installed role
    service, STIG V-218799).
    Why: STIG V-218746 (site) and CIS 1.7 require WebDAV disabled.
    Bad: `<authoring enabled="true">` with WebDAVModule loaded.
    Good: no WebDAVModule, or authoring disabled.
    """
    modules = snap.settings.items(st.GLOBAL_MODULES, "", "")
    loaded = next((m for m in modules if (m.get("name") or "").casefold() == "webdavmodule"), None)
    if not modules.known:
        yield unknown(iis.location_key(""), "The server level", snap.setting(st.GLOBAL_MODULES, "", ""))
        return
    if loaded is None:
        yield good_items(
            iis.location_key(""), "The WebDAV module is not registered in globalModules.", modules
        )
        return
    yield from judge(
        snap,
        WEBDAV,
        "enabled",
        lambda s: None if s.flag() is None else not s.flag(),
        lambda s: (
            f"WebDAV authoring is enabled {s.where} and WebDAVModule is loaded, so clients "
            "can write to the content over HTTP; disable authoring and remove the role service."
        ),
        lambda s: f"WebDAV authoring is disabled {s.where}.",
    )


@rule(
    id="IIS-CFG-016",
    name="cfg.unlisted_isapi_cgi",
    title="Unlisted ISAPI or CGI modules allowed",
    severity="medium",
    category="hardening",
    description="isapiCgiRestriction notListedIsapisAllowed or notListedCgisAllowed is true: IIS runs any "
    "ISAPI extension or CGI program, not only the listed ones.",
    rationale="With unlisted executables allowed, any DLL or EXE that reaches the content (an upload, a "
    "stray tool) can be executed through a URL.",
    remediation="appcmd set config /section:isapiCgiRestriction /notListedIsapisAllowed:false "
    "/notListedCgisAllowed:false /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/isapiCgiRestriction "
    "-Name notListedIsapisAllowed -Value False",
    references=[refs.STIG_218824, refs.CIS_4_9, refs.CIS_4_10, refs.MS_ISAPI_CGI],
    needs=("iis",),
)
def unlisted_isapi_cgi(snap, params):
    """Checks: `isapiCgiRestriction/@notListedIsapisAllowed` and `@notListedCgisAllowed` at the server (the
    section may only be set in applicationHost.config); absent, the IIS defaults (false) pass.
    Why: STIG V-218824 and CIS 4.9 and 4.10 forbid unspecified ISAPI and CGI modules.
    Bad: `<isapiCgiRestriction notListedIsapisAllowed="true">`.
    Good: both false, and the needed DLLs listed with allowed="true".
    """
    res = iis.location_key("")
    isapi = snap.setting(ISAPI_CGI, "notListedIsapisAllowed", "")
    cgi = snap.setting(ISAPI_CGI, "notListedCgisAllowed", "")
    if not isapi.known or not cgi.known:
        yield unknown(res, "The server level", isapi)
        return
    open_ = [s for s in (isapi, cgi) if s.flag() is not False]
    if open_:
        s = open_[0]
        yield bad(
            res,
            f"The server level: {' and '.join(f'{x.attribute} is {x.value} {x.where}' for x in open_)}, so IIS "
            "runs ISAPI or CGI executables that were never approved; set them to false.",
            s,
        )
    else:
        yield good(res, "Only listed ISAPI extensions and CGI programs may run.", isapi)


@rule(
    id="IIS-CFG-017",
    name="cfg.forward_proxy",
    title="Application Request Routing proxy enabled",
    severity="medium",
    category="hardening",
    description="Application Request Routing's server proxy (system.webServer/proxy enabled) is on: the "
    "web server also acts as a proxy.",
    rationale="A web server that is also a proxy lets its clients reach internal systems through it and "
    "mixes two trust roles on one host.",
    remediation="appcmd set config -section:system.webServer/proxy /enabled:false /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/proxy -Name enabled -Value False",
    references=[refs.STIG_218794, refs.MS_ARR_PROXY],
    parameters=[
        Parameter("approved_proxy", False, "The server is approved to be a proxy (STIG: N/A)", type="bool")
    ],
    needs=("iis",),
)
def forward_proxy(snap, params):
    """Checks: the effective `system.webServer/proxy/@enabled` at the server. Absent (ARR not installed,
    or installed with the proxy off) passes; with `approved_proxy` the rule is not applicable.
    Why: STIG V-218794 forbids a web server that is also a proxy server, unless approved.
    Bad: `<proxy enabled="true"/>`.
    Good: no proxy section, or `<proxy enabled="false"/>`.
    """
    s = snap.setting(PROXY, "enabled", "")
    res = iis.location_key("")
    if params["approved_proxy"]:
        yield not_applicable(
            res, "The server is approved to act as a proxy (approved_proxy).", at=s.at, pointer=s.pointer
        )
    elif not s.known:
        yield unknown(res, "The server level", s)
    elif s.flag():
        yield bad(
            res,
            f"The ARR server proxy is enabled {s.where}, so the web server forwards requests for its "
            "clients; disable it unless the server is approved as a proxy.",
            s,
        )
    else:
        yield good(res, f"The ARR server proxy is not enabled {s.where}.", s)


@rule(
    id="IIS-CFG-018",
    name="cfg.content_on_system_partition",
    title="Web content on the operating system partition",
    severity="low",
    category="hardening",
    description="A site's or application's root folder is on the system drive (%SystemDrive%, C: by "
    "default), as the default site's C:\\inetpub\\wwwroot is.",
    rationale="Content on the OS volume lets an upload or log flood fill the system disk, and puts path "
    "traversal one folder away from system files. Low in the default profile (the install default); the "
    "stig-iis10 and cis-iis10 profiles raise it to medium.",
    remediation="robocopy C:\\inetpub\\wwwroot D:\\inetpub\\wwwroot /E /COPYALL\n"
    "Set-ItemProperty 'IIS:\\Sites\\<site>' -Name physicalPath -Value D:\\inetpub\\wwwroot",
    references=[refs.STIG_218752, refs.CIS_1_1],
    needs=("iis",),
)
def content_on_system_partition(snap, params):
    """Checks: the physical path of every application's root virtual directory, expanded with the host's
    environment (`%SystemDrive%` and the like), against the system drive. A UNC path is on another
    system and passes; a path whose drive cannot be told is not reviewed.
    Why: STIG V-218752 and CIS 1.1 keep web content off the OS partition.
    Bad: `physicalPath="%SystemDrive%\\inetpub\\wwwroot"`.
    Good: `physicalPath="D:\\www\\shop"`.
    """
    system_drive = snap.environment.get("systemdrive", "C:").rstrip("\\").casefold()
    for site in snap.sites:
        for app in site.get("applications") or []:
            root = next((v for v in app.get("virtual_directories") or [] if v.get("path") in ("/", "")), None)
            where = f"{site['name']}{'' if app.get('path') in ('/', '') else app.get('path')}"
            res = iis.location_key(where)
            if root is None or not (root.get("physical_path") or root.get("physical_path_expanded")):
                continue
            path = snap.path_key(root.get("physical_path_expanded") or root["physical_path"])
            if path.startswith("\\\\"):
                yield passed(
                    res, f"'{where}' serves content from a share ({root.get('physical_path')}).", at=root
                )
            elif len(path) < 2 or path[1] != ":":
                yield fail(
                    res,
                    f"'{where}' serves content from {root.get('physical_path')!r}, whose drive cannot "
                    "be told; use an absolute path on a data volume.",
                    at=root,
                )
            elif path[:2] == system_drive:
                yield fail(
                    res,
                    f"'{where}' serves content from {root.get('physical_path')} on the system drive "
                    f"{system_drive.upper()}; move it to a separate data volume.",
                    at=root,
                )
            else:
                yield passed(
                    res,
                    f"'{where}' serves content from {root.get('physical_path')}, off the system drive.",
                    at=root,
                )


@rule(
    id="IIS-CFG-019",
    name="cfg.host_headers",
    title="Site binding without a host name",
    severity="low",
    category="hardening",
    description="An http or https binding of a site has no host name (`*:80:`), so the site answers every "
    "name that resolves to the address.",
    rationale="A catch-all binding serves the site under any DNS name (DNS rebinding, virtual-host "
    "confusion) and hides which names a site is meant to serve. Low: the default site's binding; the "
    "cis-iis10 profile raises it to medium.",
    remediation="New-WebBinding -Name '<site>' -Protocol http -Port 80 -HostHeader www.example.com\n"
    "appcmd set site /site.name:<site> /bindings.[protocol='http',bindingInformation='*:80:']"
    ".bindingInformation:*:80:www.example.com",
    references=[refs.CIS_1_2, refs.STIG_218748, refs.MS_BINDINGS],
    needs=("iis",),
)
def host_headers(snap, params):
    """Checks: every http and https binding of every site for a host name (the third part of
    bindingInformation). An https binding with SNI off may legitimately have none when the site owns its
    address: it still fails, since CIS asks for host headers on all sites.
    Why: CIS 1.2 requires host headers on all sites (STIG V-218748 asks for a default host header).
    Bad: `<binding protocol="http" bindingInformation="*:80:"/>`.
    Good: `<binding protocol="http" bindingInformation="*:80:www.example.com"/>`.
    """
    for site in snap.sites:
        res = iis.site_key(site["name"])
        web = [
            b
            for b in site.get("bindings") or []
            if str(b.get("protocol") or "").casefold() in ("http", "https")
        ]
        if not web:
            yield not_applicable(res, f"Site '{site['name']}' has no http or https binding.", at=site)
            continue
        bare = [b for b in web if not str(b.get("host") or "").strip()]
        if bare:
            yield fail(
                res,
                f"Site '{site['name']}' binds {bare[0].get('binding_information')!r} without a host name, so it "
                "answers any name pointed at the address; add a host header to every binding.",
                at=bare[0],
            )
        else:
            yield passed(res, f"Every http/https binding of '{site['name']}' names its host.", at=web[0])


@rule(
    id="IIS-CFG-020",
    name="cfg.dynamic_ip_restrictions",
    title="Dynamic IP address restrictions off",
    severity="low",
    category="hardening",
    description="Neither denyByConcurrentRequests nor denyByRequestRate of dynamicIpSecurity is enabled at "
    "the server or a site (or the IP and Domain Restrictions role service is not configured).",
    rationale="Without a per-client request limit, one client can exhaust workers and connections. Low: "
    "not part of a default install; the cis-iis10 profile raises it to medium.",
    remediation="appcmd set config /section:system.webServer/security/dynamicIpSecurity "
    "/denyByConcurrentRequests.enabled:true /denyByConcurrentRequests.maxConcurrentRequests:10 /commit:apphost\n"
    "Set-WebConfigurationProperty -PSPath IIS:\\ -Filter system.webServer/security/dynamicIpSecurity/"
    "denyByRequestRate -Name enabled -Value True",
    references=[refs.CIS_4_11, refs.MS_DYNAMIC_IP],
    needs=("iis",),
)
def dynamic_ip_restrictions(snap, params):
    """Checks: the effective `dynamicIpSecurity/denyByConcurrentRequests/@enabled` and
    `denyByRequestRate/@enabled` at the server and every site, application or folder that sets them; at
    least one must be true.
    Why: CIS 4.11 requires Dynamic IP Address Restrictions enabled.
    Bad: no dynamicIpSecurity settings (both default to false).
    Good: `<denyByConcurrentRequests enabled="true" maxConcurrentRequests="10"/>`.
    """
    for scope in snap.settings.scopes(DYN_IP):
        res, who = resource(DYN_IP, scope), label(DYN_IP, scope, snap)
        conc = snap.setting(DYN_IP, "denyByConcurrentRequests/enabled", scope)
        rate = snap.setting(DYN_IP, "denyByRequestRate/enabled", scope)
        if not conc.known or not rate.known:
            yield unknown(res, who, conc)
        elif conc.flag() or rate.flag():
            yield good(res, f"{who}: dynamic IP restrictions are enabled.", conc if conc.flag() else rate)
        else:
            yield bad(
                res,
                f"{who}: neither denyByConcurrentRequests nor denyByRequestRate is enabled "
                f"{conc.where}, so one client can exhaust the server; enable one of them.",
                conc,
            )


RULES = [
    directory_browsing,
    detailed_errors,
    shell_mime_types,
    unused_script_mappings,
    webdav,
    unlisted_isapi_cgi,
    forward_proxy,
    content_on_system_partition,
    host_headers,
    dynamic_ip_restrictions,
]


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-CFG-"],
        "description": "Built-in IIS-CFG-* rules: exposure of content and features",
    }


@hookimpl
def iisguard_register_rules():
    return RULES
