"""Every source the built-in rule packs cite, one constant per source (RULES.md §0); a pack may cite them too.

Id spellings: `CIS-IIS10-x.y`, `STIG-V-nnnnnn` (the CIS and STIG ids become framework tags),
`MS-…` for Microsoft documentation, `PingCastle-…` and `BloodHound-…` for those tools' rules.
"""

from __future__ import annotations

from .engine.rule import Reference

_LEARN = "https://learn.microsoft.com/en-us"
_IIS_AUTH_ARTICLES = f"{_LEARN}/troubleshoot/developer/webapps/iis/www-authentication-authorization"
_TENABLE = "https://www.tenable.com/audits/items"
_CIS_IIS = "https://www.cisecurity.org/benchmark/microsoft_iis"
_STIG_SERVER = "https://github.com/mitre/microsoft-iis-10.0-server-stig-baseline/blob/HEAD/controls"
_STIG_SITE = "https://github.com/mitre/microsoft-iis-10.0-site-stig-baseline/blob/HEAD/controls"
_STIG_85_SERVER = "https://github.com/mitre/microsoft-iis-8.5-server-stig-baseline"
_STIG_85_SITE = "https://github.com/mitre/microsoft-iis-8.5-site-stig-baseline"
_PINGCASTLE = "https://github.com/netwrix/pingcastle/tree/master/PingCastleCommon/Healthcheck/Rules"
_BH_EDGES = "https://github.com/SpecterOps/bloodhound-docs/blob/main/docs/resources/edges"
_BH_USER = "https://github.com/SpecterOps/bloodhound-docs/blob/main/docs/resources/nodes/user.mdx"

# --- CIS Microsoft IIS 10 Benchmark ----------------------------------------------------------------
CIS_1_4 = Reference(
    "CIS-IIS10-1.4",
    f"{_TENABLE}/CIS_v1.1.1_MS_IIS_10_Level_1.audit:0047d23638ebea09ea65a7b107f19e6b",
    "Ensure 'application pool identity' is configured for all application pools",
)
CIS_1_5 = Reference(
    "CIS-IIS10-1.5",
    "https://tenable.com/audits/items/CIS_v1.1.1_MS_IIS_10_Level_1.audit:42d095aa7eeaf001e1837a7a0d396db7",
    "Ensure 'unique application pools' is set for sites",
)
CIS_1_6 = Reference(
    "CIS-IIS10-1.6",
    f"{_TENABLE}/CIS_v1.5.0_MS_IIS_8_Level_1.audit:3a4b1b4e7f879dca0eb8534da9ac4397",
    "Ensure 'application pool identity' is configured for anonymous user identity",
)
CIS_2_1 = Reference("CIS-IIS10-2.1", "", "Ensure 'global authorization rule' is set to restrict access")
CIS_2_2 = Reference(
    "CIS-IIS10-2.2", "", "Ensure access to sensitive site features is restricted to authenticated principals"
)
CIS_2_7 = Reference(
    "CIS-IIS10-2.7",
    "https://tenable.com/audits/items/CIS_MS_IIS_10_v1.2.1_Level_1.audit:3e974b9603c053fb80bfd79e761296ee",
    "Ensure 'passwordFormat' is not set to clear",
)
CIS_2_8 = Reference("CIS-IIS10-2.8", "", "Ensure 'credentials' are not stored in configuration files")
CIS_4_8 = Reference(
    "CIS-IIS10-4.8",
    "https://www.tenable.com/audits/CIS_Microsoft_IIS_10_v1.2.1_Level_1",
    "Ensure 'handler' is not granted 'Write' and 'Script/Execute'",
)
CIS_5_1 = Reference("CIS-IIS10-5.1", _CIS_IIS, "Ensure Default IIS web log location is moved")
# Present in the CIS IIS 7 and 8 benchmarks; its IIS 10 number is unverified (RULES.md §3E), so no CIS-IIS10 id.
CIS_IIS78_ENCRYPTION_PROVIDERS = Reference(
    "IIS7-8-CIS-encryption-providers", _CIS_IIS, "encryption providers locked down (IIS 7/8 benchmarks)"
)
# The item number differs between CIS Windows Server benchmark versions.
CIS_WIN_IMPERSONATE = Reference(
    "Windows-CIS-2.2.x-Impersonate",
    "https://www.cisecurity.org/benchmark/microsoft_windows_server",
    "CIS Windows Server: Impersonate a client after authentication (IIS_IUSRS allowed with the Web Server role)",
)


# --- DISA STIGs (IIS 10.0 Server V3R1 / Site V2R9 via MITRE's InSpec baselines; IIS 8.5, 7.0, 6) ----
def _stig(vid: str, url: str, title: str) -> Reference:
    return Reference(f"STIG-V-{vid}", url, title)


STIG_218790 = _stig(
    "218790",
    f"{_STIG_SERVER}/SV-218790.rb",
    "IIS 10.0 Server STIG IIST-SV-000115: log information protected from unauthorized modification or deletion",
)
STIG_218796 = _stig(
    "218796",
    f"{_STIG_SERVER}/SV-218796.rb",
    "IIS 10.0 Server STIG IIST-SV-000121: only required accounts on the web server",
)
STIG_218802 = _stig(
    "218802",
    f"{_STIG_SERVER}/SV-218802.rb",
    "IIS 10.0 Server STIG IIST-SV-000131: non-privileged accounts for IIS processes",
)
STIG_218814 = _stig(
    "218814",
    f"{_STIG_SERVER}/SV-218814.rb",
    "IIS 10.0 Server STIG IIST-SV-000144: system files conform to minimum file permission requirements",
)
STIG_218816 = _stig(
    "218816", f"{_STIG_SERVER}/SV-218816.rb", "IIS 10.0 Server STIG: InetMgr.exe access restricted"
)
STIG_218817 = _stig(
    "218817",
    f"{_STIG_SERVER}/SV-218817.rb",
    "IIS 10.0 Server STIG IIST-SV-000148: not a domain controller / single role",
)
STIG_218823 = _stig(
    "218823",
    f"{_STIG_SERVER}/SV-218823.rb",
    "IIS 10.0 Server STIG IIST-SV-000156: IIS account passwords changed from default",
)
STIG_218825 = _stig(
    "218825", f"{_STIG_SERVER}/SV-218825.rb", "IIS 10.0 Server STIG IIST-SV-000159: .NET authorization rules"
)
STIG_218748 = _stig("218748", f"{_STIG_SITE}/SV-218748.rb", "IIS 10.0 Site STIG: host headers")
STIG_218750 = _stig(
    "218750",
    f"{_STIG_SITE}/SV-218750.rb",
    "IIS 10.0 Site STIG IIST-SI-000221: anonymous account not privileged",
)
STIG_218771 = _stig(
    "218771",
    f"{_STIG_SITE}/SV-218771.rb",
    "IIS 10.0 Site STIG IIST-SI-000251: unique application pool per site",
)
STIG_218779 = _stig(
    "218779", f"{_STIG_SITE}/SV-218779.rb", "IIS 10.0 Site STIG: content separated from system files"
)
STIG_218780 = _stig(
    "218780",
    f"{_STIG_SITE}/SV-218780.rb",
    "IIS 10.0 Site STIG IIST-SI-000262: interactive scripts have restrictive access controls",
)
STIG_214411 = _stig(
    "214411", _STIG_85_SERVER, "IIS 8.5 Server STIG: only required accounts on the web server"
)
STIG_214429 = _stig("214429", _STIG_85_SERVER, "IIS 8.5 Server STIG: system files minimum permissions")
STIG_214431 = _stig("214431", _STIG_85_SERVER, "IIS 8.5 Server STIG: web administration tools restricted")
STIG_214461 = _stig("214461", _STIG_85_SITE, "IIS 8.5 Site STIG: anonymous account not privileged")
STIG_214484 = _stig("214484", _STIG_85_SITE, "IIS 8.5 Site STIG: unique application pool per site")
STIG_214494 = _stig(
    "214494", _STIG_85_SITE, "IIS 8.5 Site STIG: interactive scripts have restrictive access controls"
)
STIG_13713 = _stig("13713", "", "IIS 6 Site STIG WA000-WI6040: unique non-privileged worker process identity")
STIG_6537 = _stig("6537", "", "IIS 7.0 STIG WG195: anonymous account not in privileged groups")
# The Windows Server 2025 STIG is cited by its rule id (RULES.md names no V-ID for it); not an IIS framework tag.
WIN_STIG_IMPERSONATE = Reference(
    "Windows-STIG-WN25-UR-000130",
    "",
    "Windows Server 2025 STIG WN25-UR-000130: Impersonate a client after authentication "
    "(a documented application requirement is not a finding)",
)

# --- Microsoft documentation -----------------------------------------------------------------------
KB981949 = Reference(
    "MS-KB981949",
    f"{_IIS_AUTH_ARTICLES}/default-permissions-user-rights",
    "Default permissions and user rights for IIS",
)
MS_IDENT = Reference(
    "MS-IDENT",
    f"{_IIS_AUTH_ARTICLES}/understanding-identities",
    "Understanding identities in IIS (KB 4466942)",
)
MS_BUILTIN = Reference(
    "MS-BUILTIN",
    f"{_LEARN}/iis/get-started/planning-for-security/understanding-built-in-user-and-group-accounts-in-iis",
    "Understanding Built-In User and Group Accounts in IIS",
)
MS_APID = Reference(
    "MS-APID",
    f"{_LEARN}/iis/manage/configuring-security/application-pool-identities",
    "Application Pool Identities",
)
MS_APASANON = Reference(
    "MS-APASANON",
    f"{_LEARN}/iis/web-hosting/web-server-for-shared-hosting/application-pool-identity-as-anonymous-user",
    "Application Pool Identity as Anonymous User",
)
MS_PROCMODEL = Reference(
    "MS-PROCMODEL",
    f"{_LEARN}/iis/configuration/system.applicationhost/applicationpools/add/processmodel",
    "<processModel> configuration reference",
)
MS_ANON = Reference(
    "MS-ANON",
    f"{_LEARN}/iis/configuration/system.webserver/security/authentication/anonymousauthentication",
    "<anonymousAuthentication> configuration reference",
)
_WINAUTH = f"{_LEARN}/iis/configuration/system.webserver/security/authentication/windowsauthentication/"
MS_WINAUTH = Reference(
    "MS-WINAUTH", _WINAUTH, "<windowsAuthentication>: useKernelMode, useAppPoolCredentials"
)
MS_WINAUTH_EP = Reference(
    "MS-WINAUTH-EP", _WINAUTH + "extendedprotection/", "<windowsAuthentication> extendedProtection"
)
MS_CERTMAP = Reference(
    "MS-CERTMAP",
    f"{_LEARN}/iis/configuration/system.webserver/security/authentication/"
    "iisclientcertificatemappingauthentication/",
    "<iisClientCertificateMappingAuthentication>",
)
MS_CNG = Reference(
    "MS-CNG", "https://blogs.iis.net/iisteam/cng-data-encryption", "CNG Data Encryption Providers in IIS 10"
)
MS_BPA = Reference(
    "MS-BPA",
    "https://technet.microsoft.com/en-us/library/dd378907.aspx",
    "IIS BPA: application pools should be set to run as application pool identities",
)
MS_IIS6ACCT = Reference(
    "MS-IIS6ACCT",
    f"{_LEARN}/previous-versions/windows/it-pro/windows-server-2003/cc784675(v=ws.10)",
    "IIS and Built-in Accounts (IIS 6.0)",
)
MS_WAMUSERPASS = Reference(
    "MS-WAMUSERPASS",
    "http://technet.microsoft.com/nl-nl/library/cc778405(v=ws.10).aspx",
    "WAMUserPass metabase property",
)
MS_ASPNET_ACLS = Reference(
    "MS-ASPNET-ACLS",
    f"{_LEARN}/previous-versions/aspnet/kwzs111e(v=vs.100)",
    "ASP.NET Required Access Control Lists",
)
MS_CONNSTR = Reference(
    "MS-CONNSTR",
    f"{_LEARN}/dotnet/framework/data/adonet/protecting-connection-information",
    "Protecting connection information",
)
MS_USER_RIGHTS = Reference(
    "MS-USER-RIGHTS",
    f"{_LEARN}/windows/security/threat-protection/security-policy-settings/user-rights-assignment",
    "User Rights Assignment",
)
MS_DOCS_PR_9187 = Reference(
    "MS-DOCS-PR-9187",
    "https://github.com/MicrosoftDocs/windows-itpro-docs/pull/9187",
    "Removing IIS_IUSRS from Impersonate breaks IIS authentication (0x80070542)",
)
MS_GMSA = Reference(
    "MS-GMSA",
    f"{_LEARN}/windows-server/identity/ad-ds/manage/group-managed-service-accounts/"
    "group-managed-service-accounts/group-managed-service-accounts-overview",
    "Group Managed Service Accounts overview",
)
MS_SET_AD_ACCOUNT_CONTROL = Reference(
    "MS-SetADAccountControl",
    f"{_LEARN}/powershell/module/activedirectory/set-adaccountcontrol",
    "Set-ADAccountControl",
)
MS_SPN6 = Reference(
    "MS-SPN6",
    "http://support.microsoft.com/kb/929650",
    "How to use SPNs when you configure Web applications hosted on IIS",
)
MS_SETSPN = Reference(
    "MS-SETSPN",
    f"{_LEARN}/previous-versions/windows/it-pro/windows-server-2012-r2-and-2012/cc731241(v=ws.11)",
    "Setspn (register, delete and query service principal names)",
)
MS_DUPSPN = Reference(
    "MS-DUPSPN",
    "https://techcommunity.microsoft.com/t5/ask-the-directory-services-team/"
    "kerberos-authentication-problems-8211-service-principal-name-spn/ba-p/395433",
    "Kerberos Authentication problems - SPN issues (duplicate SPNs)",
)
MS_KCD = Reference(
    "MS-KCD",
    f"{_LEARN}/windows-server/security/kerberos/kerberos-constrained-delegation-overview",
    "Kerberos Constrained Delegation Overview",
)
MS_EDGEDELEG = Reference(
    "MS-EDGEDELEG",
    f"{_IIS_AUTH_ARTICLES}/kerberos-double-hop-authentication-edge-chromium",
    "Kerberos unconstrained double-hop authentication",
)
POWERSTIG_452 = Reference(
    "PowerSTIG-452",
    "https://github.com/microsoft/PowerStig/issues/452",
    "exact-match ACL checks fail good hosts",
)


# --- PingCastle health-check rules -----------------------------------------------------------------
def _pingcastle(rule_id: str, note: str = "") -> Reference:
    return Reference(f"PingCastle-{rule_id}", _PINGCASTLE, f"PingCastle {rule_id}{note}")


PC_PRIVILEGE_EVERYONE = _pingcastle("P-PrivilegeEveryone", ": dangerous privileges granted to everyone")
PC_TRUSTED_CRED_MAN_ACCESS = _pingcastle("P-TrustedCredManAccessPrivilege")
PC_SERVICE_DOMAIN_ADMIN = _pingcastle("P-ServiceDomainAdmin", " (AD STIG V-36432)")
PC_KERBEROASTING = _pingcastle("P-Kerberoasting")
PC_UNCONSTRAINED_DELEGATION = _pingcastle("P-UnconstrainedDelegation", " (ANSSI R18)")
PC_DELEGATION_DC_A2D2 = _pingcastle("P-DelegationDCa2d2")
PC_DELEGATION_DC_T2A4D = _pingcastle("P-DelegationDCt2a4d")
PC_DELEGATION_DC_SOURCEDELEG = _pingcastle("P-DelegationDCsourcedeleg")
PC_NO_SERVICE_POLICY = _pingcastle("A-NoServicePolicy", " (20+ character service passwords)")
PC_AES_NOT_ENABLED = _pingcastle("S-AesNotEnabled")
PC_DES_ENABLED = _pingcastle("S-DesEnabled")
PC_INACTIVE = _pingcastle("S-Inactive")
PC_NO_PREAUTH = _pingcastle("S-NoPreAuth", " / S-NoPreAuthAdmin")
PC_PWD_LAST_SET_45 = _pingcastle("S-PwdLastSet-45")
PC_PWD_LAST_SET_90 = _pingcastle("S-PwdLastSet-90")
PC_PWD_NEVER_EXPIRES = _pingcastle("S-PwdNeverExpires")
PC_PWD_NOT_REQUIRED = _pingcastle("S-PwdNotRequired")
PC_REVERSIBLE = _pingcastle("S-Reversible")

# --- BloodHound edges and node properties ----------------------------------------------------------
BH_ALLOWED_TO_ACT = Reference(
    "BloodHound-AllowedToAct", f"{_BH_EDGES}/allowed-to-act.mdx", "BloodHound AllowedToAct"
)
BH_ALLOWED_TO_DELEGATE = Reference(
    "BloodHound-AllowedToDelegate", f"{_BH_EDGES}/allowed-to-delegate.mdx", "BloodHound AllowedToDelegate"
)
BH_CAN_RDP = Reference("BloodHound-CanRDP", f"{_BH_EDGES}/can-rdp.mdx", "BloodHound CanRDP")
BH_COERCE_AND_RELAY_NTLM_TO_ADCS = Reference(
    "BloodHound-CoerceAndRelayNTLMToADCS",
    f"{_BH_EDGES}/coerce-and-relay-ntlm-to-adcs.mdx",
    "BloodHound CoerceAndRelayNTLMToADCS",
)
BH_COERCE_TO_TGT = Reference(
    "BloodHound-CoerceToTGT", f"{_BH_EDGES}/coerce-to-tgt.mdx", "BloodHound CoerceToTGT"
)
BH_ADMIN_COUNT = Reference("BloodHound-admincount", _BH_USER, "BloodHound user node: Admin Count")
BH_SERVICE_PRINCIPAL_NAMES = Reference(
    "BloodHound-Serviceprincipalnames", _BH_USER, "BloodHound user node: Serviceprincipalnames"
)
BH_DONT_REQ_PREAUTH = Reference(
    "BloodHound-dontreqpreauth", _BH_USER, "BloodHound user node: Do Not Require Pre-Auth, Passwordnotreqd"
)


# --- TLS, registry and Windows features (issue #19, IIS-TLS-* and IIS-FEAT-*) -------------------------
MS_TLS_REGISTRY = Reference(
    "MS-TLS-registry",
    f"{_LEARN}/windows-server/security/tls/tls-registry-settings",
    "Transport Layer Security (TLS) registry settings (SCHANNEL Protocols, Ciphers, Hashes, KeyExchangeAlgorithms)",
)
MS_TLS_PROTOCOLS = Reference(
    "MS-Schannel-protocols",
    f"{_LEARN}/windows/win32/secauthn/protocols-in-tls-ssl--schannel-ssp-",
    "Protocols in TLS/SSL (Schannel SSP): the protocols each Windows version enables by default",
)
MS_TLS_SUITE_ORDER = Reference(
    "MS-TLS-cipher-suite-order",
    f"{_LEARN}/windows-server/security/tls/manage-tls",
    "Manage Transport Layer Security (TLS): configuring the TLS cipher suite order",
)
MS_DOTNET_TLS = Reference(
    "MS-dotnet-TLS",
    f"{_LEARN}/dotnet/framework/network-programming/tls",
    "Transport Layer Security (TLS) best practices with the .NET Framework (SchUseStrongCrypto, SystemDefaultTlsVersions)",
)
MS_WMSVC = Reference(
    "MS-WMSvc",
    f"{_LEARN}/iis/manage/remote-administration/configuring-remote-administration-and-feature-delegation-in-iis-7",
    "Configuring Remote Administration and Feature Delegation in IIS (Management Service, IP restrictions)",
)
MS_HTTPSYS_REGISTRY = Reference(
    "MS-HTTPsys-registry",
    f"{_LEARN}/troubleshoot/developer/webapps/iis/iisadmin-service-inetinfo/httpsys-registry-windows",
    "Http.sys registry settings for Windows (UriEnableCache, UriMaxUriBytes, UriScavengerPeriod)",
)
STIG_218809_INDEX = _stig(
    "218809",
    f"{_STIG_SERVER}/SV-218809.rb",
    "IIS 10.0 Server STIG IIST-SV-000139: the web server's indexing must only index web content",
)
STIG_218812_WMSVC = _stig(
    "218812",
    f"{_STIG_SERVER}/SV-218812.rb",
    "IIS 10.0 Server STIG IIST-SV-000142: inbound connections from non-secure zones restricted (Management Service)",
)
STIG_218818_IPP = _stig(
    "218818",
    f"{_STIG_SERVER}/SV-218818.rb",
    "IIS 10.0 Server STIG IIST-SV-000149: Internet Printing Protocol disabled",
)
STIG_218819_TUNING = _stig(
    "218819",
    f"{_STIG_SERVER}/SV-218819.rb",
    "IIS 10.0 Server STIG IIST-SV-000151: HTTP.sys tuned (URIEnableCache, UriMaxUriBytes, UriScavengerPeriod)",
)
STIG_218821_TLS = _stig(
    "218821",
    f"{_STIG_SERVER}/SV-218821.rb",
    "IIS 10.0 Server STIG IIST-SV-000153: TLS 1.2 enabled; TLS 1.0/1.1, SSL 2.0/3.0 disabled (SCHANNEL)",
)
STIG_218822_TLS = _stig(
    "218822",
    f"{_STIG_SERVER}/SV-218822.rb",
    "IIS 10.0 Server STIG IIST-SV-000154: TLS 1.2 or higher, no non-FIPS-approved algorithms",
)
STIG_228572_SMTP = _stig(
    "228572",
    f"{_STIG_SERVER}/SV-228572.rb",
    "IIS 10.0 Server STIG IIST-SV-000160: an SMTP relay on the server requires authentication",
)
STIG_218799_WEBDAV = _stig(
    "218799",
    f"{_STIG_SERVER}/SV-218799.rb",
    "IIS 10.0 Server STIG IIST-SV-000125: WebDAV disabled",
)
STIG_218746_WEBDAV = _stig(
    "218746", f"{_STIG_SITE}/SV-218746.rb", "IIS 10.0 Site STIG IIST-SI-000217: WebDAV disabled"
)
CIS_1_7_WEBDAV = Reference("CIS-IIS10-1.7", _CIS_IIS, "Ensure 'WebDav' feature is disabled")
CIS_7_2 = Reference("CIS-IIS10-7.2", _CIS_IIS, "Ensure SSLv2 is Disabled")
CIS_7_3 = Reference("CIS-IIS10-7.3", _CIS_IIS, "Ensure SSLv3 is Disabled")
CIS_7_4 = Reference("CIS-IIS10-7.4", _CIS_IIS, "Ensure TLS 1.0 is Disabled")
CIS_7_5 = Reference("CIS-IIS10-7.5", _CIS_IIS, "Ensure TLS 1.1 is Disabled")
CIS_7_6 = Reference("CIS-IIS10-7.6", _CIS_IIS, "Ensure TLS 1.2 is Enabled")
CIS_7_7 = Reference("CIS-IIS10-7.7", _CIS_IIS, "Ensure NULL Cipher Suites is Disabled")
CIS_7_8 = Reference("CIS-IIS10-7.8", _CIS_IIS, "Ensure DES Cipher Suites is Disabled")
CIS_7_9 = Reference("CIS-IIS10-7.9", _CIS_IIS, "Ensure RC4 Cipher Suites is Disabled")
CIS_7_10 = Reference("CIS-IIS10-7.10", _CIS_IIS, "Ensure AES 128/128 Cipher Suite is Disabled")
CIS_7_11 = Reference("CIS-IIS10-7.11", _CIS_IIS, "Ensure AES 256/256 Cipher Suite is Enabled")
CIS_7_12 = Reference("CIS-IIS10-7.12", _CIS_IIS, "Ensure TLS Cipher Suite ordering is Configured")

# Build scripts (#16): clear-text secrets in PowerShell and where to keep them instead.
MS_CONVERTTO_SECURESTRING = Reference(
    "MS-ConvertTo-SecureString",
    f"{_LEARN}/powershell/module/microsoft.powershell.security/convertto-securestring",
    "ConvertTo-SecureString (-AsPlainText: the plain text is in the script)",
)
MS_SECRET_MANAGEMENT = Reference(
    "MS-SecretManagement",
    f"{_LEARN}/powershell/utility-modules/secretmanagement/overview",
    "PowerShell SecretManagement: read secrets from a vault at run time",
)

# --- IIS hardening settings (issue #19): every STIG and CIS item an IIS-CFG-* rule cites ---------------
# STIG titles and ids as the frameworks/stig-iis10.yaml items give them; CIS titles from frameworks/cis-iis10.yaml.
STIG_218785 = _stig(
    "218785",
    f"{_STIG_SERVER}/SV-218785.rb",
    "IIS 10.0 Server STIG IIST-SV-000102: The enhanced logging for the IIS 10.0 web server must be enabled and capture all user and web server events.",
)
STIG_218786 = _stig(
    "218786",
    f"{_STIG_SERVER}/SV-218786.rb",
    "IIS 10.0 Server STIG IIST-SV-000103: Both the log file and Event Tracing for Windows (ETW) for the IIS 10.0 web server must be enabled.",
)
STIG_218787 = _stig(
    "218787",
    f"{_STIG_SERVER}/SV-218787.rb",
    "IIS 10.0 Server STIG IIST-SV-000109: An IIS 10.0 web server behind a load balancer or proxy server must produce log records containing the source client IP and destination information.",
)
STIG_218788 = _stig(
    "218788",
    f"{_STIG_SERVER}/SV-218788.rb",
    "IIS 10.0 Server STIG IIST-SV-000110: The IIS 10.0 web server must produce log records that contain sufficient information to establish the outcome (success or failure) of IIS 10.0 web server events.",
)
STIG_218789 = _stig(
    "218789",
    f"{_STIG_SERVER}/SV-218789.rb",
    "IIS 10.0 Server STIG IIST-SV-000111: The IIS 10.0 web server must produce log records containing sufficient information to establish the identity of any user/subject or process associated with an event.",
)
STIG_218794 = _stig(
    "218794",
    f"{_STIG_SERVER}/SV-218794.rb",
    "IIS 10.0 Server STIG IIST-SV-000119: The IIS 10.0 web server must not be both a website server and a proxy server.",
)
STIG_218798 = _stig(
    "218798",
    f"{_STIG_SERVER}/SV-218798.rb",
    "IIS 10.0 Server STIG IIST-SV-000124: The IIS 10.0 web server must have Multipurpose Internet Mail Extensions (MIME) that invoke OS shell programs disabled.",
)
STIG_218804 = _stig(
    "218804",
    f"{_STIG_SERVER}/SV-218804.rb",
    "IIS 10.0 Server STIG IIST-SV-000134: The IIS 10.0 web server must use cookies to track session state.",
)
STIG_218805 = _stig(
    "218805",
    f"{_STIG_SERVER}/SV-218805.rb",
    "IIS 10.0 Server STIG IIST-SV-000135: The IIS 10.0 web server must accept only system-generated session identifiers.",
)
STIG_218807 = _stig(
    "218807",
    f"{_STIG_SERVER}/SV-218807.rb",
    "IIS 10.0 Server STIG IIST-SV-000137: The production IIS 10.0 web server must utilize SHA2 encryption for the Machine Key.",
)
STIG_218808 = _stig(
    "218808",
    f"{_STIG_SERVER}/SV-218808.rb",
    "IIS 10.0 Server STIG IIST-SV-000138: Directory Browsing on the IIS 10.0 web server must be disabled.",
)
STIG_218810 = _stig(
    "218810",
    f"{_STIG_SERVER}/SV-218810.rb",
    "IIS 10.0 Server STIG IIST-SV-000140: Warning and error messages displayed to clients must be modified to minimize the identity of the IIS 10.0 web server, patches, loaded modules, and directory paths.",
)
STIG_218815 = _stig(
    "218815",
    f"{_STIG_SERVER}/SV-218815.rb",
    "IIS 10.0 Server STIG IIST-SV-000145: The IIS 10.0 web server must use a logging mechanism configured to allocate log record storage capacity large enough to accommodate the logging requirements of the IIS 10.0 web server.",
)
STIG_218820 = _stig(
    "218820",
    f"{_STIG_SERVER}/SV-218820.rb",
    "IIS 10.0 Server STIG IIST-SV-000152: IIS 10.0 web server session IDs must be sent to the client using TLS.",
)
STIG_218824 = _stig(
    "218824",
    f"{_STIG_SERVER}/SV-218824.rb",
    "IIS 10.0 Server STIG IIST-SV-000158: Unspecified file extensions on a production IIS 10.0 web server must be removed.",
)
STIG_218826 = _stig(
    "218826",
    f"{_STIG_SERVER}/SV-218826.rb",
    "IIS 10.0 Server STIG IIST-SV-000200: The IIS 10.0 websites MaxConnections setting must be configured to limit the number of allowed simultaneous session requests.",
)
STIG_218827 = _stig(
    "218827",
    f"{_STIG_SERVER}/SV-218827.rb",
    "IIS 10.0 Server STIG IIST-SV-000205: The IIS 10.0 web server must enable HTTP Strict Transport Security (HSTS).",
)
STIG_241788 = _stig(
    "241788",
    f"{_STIG_SERVER}/SV-241788.rb",
    "IIS 10.0 Server STIG IIST-SV-000210: HTTPAPI Server version must be removed from the HTTP Response Header information.",
)
STIG_241789 = _stig(
    "241789",
    f"{_STIG_SERVER}/SV-241789.rb",
    "IIS 10.0 Server STIG IIST-SV-000215: ASP.NET version must be removed from the HTTP Response Header information.",
)
STIG_218735 = _stig(
    "218735",
    f"{_STIG_SITE}/SV-218735.rb",
    "IIS 10.0 Site STIG IIST-SI-000201: The IIS 10.0 website session state must be enabled.",
)
STIG_218736 = _stig(
    "218736",
    f"{_STIG_SITE}/SV-218736.rb",
    "IIS 10.0 Site STIG IIST-SI-000202: The IIS 10.0 website session state cookie settings must be configured to Use Cookies mode.",
)
STIG_218737 = _stig(
    "218737",
    f"{_STIG_SITE}/SV-218737.rb",
    "IIS 10.0 Site STIG IIST-SI-000203: A private IIS 10.0 website must only accept Secure Socket Layer (SSL) connections.",
)
STIG_218738 = _stig(
    "218738",
    f"{_STIG_SITE}/SV-218738.rb",
    "IIS 10.0 Site STIG IIST-SI-000204: A public IIS 10.0 website must only accept Secure Socket Layer (SSL) connections when authentication is required.",
)
STIG_218739 = _stig(
    "218739",
    f"{_STIG_SITE}/SV-218739.rb",
    "IIS 10.0 Site STIG IIST-SI-000206: Both the log file and Event Tracing for Windows (ETW) for each IIS 10.0 website must be enabled.",
)
STIG_218740 = _stig(
    "218740",
    f"{_STIG_SITE}/SV-218740.rb",
    "IIS 10.0 Site STIG IIST-SI-000208: An IIS 10.0 website behind a load balancer or proxy server must produce log records containing the source client IP, and destination information.",
)
STIG_218741 = _stig(
    "218741",
    f"{_STIG_SITE}/SV-218741.rb",
    "IIS 10.0 Site STIG IIST-SI-000209: The IIS 10.0 website must produce log records that contain sufficient information to establish the outcome (success or failure) of IIS 10.0 website events.",
)
STIG_218742 = _stig(
    "218742",
    f"{_STIG_SITE}/SV-218742.rb",
    "IIS 10.0 Site STIG IIST-SI-000210: The IIS 10.0 website must produce log records containing sufficient information to establish the identity of any user/subject or process associated with an event.",
)
STIG_218743 = _stig(
    "218743",
    f"{_STIG_SITE}/SV-218743.rb",
    "IIS 10.0 Site STIG IIST-SI-000214: The IIS 10.0 website must have Multipurpose Internet Mail Extensions (MIME) that invoke OS shell programs disabled.",
)
STIG_218744 = _stig(
    "218744",
    f"{_STIG_SITE}/SV-218744.rb",
    "IIS 10.0 Site STIG IIST-SI-000215: Mappings to unused and vulnerable scripts on the IIS 10.0 website must be removed.",
)
STIG_218745 = _stig(
    "218745",
    f"{_STIG_SITE}/SV-218745.rb",
    "IIS 10.0 Site STIG IIST-SI-000216: The IIS 10.0 website must have resource mappings set to disable the serving of certain file types.",
)
STIG_218749 = _stig(
    "218749",
    f"{_STIG_SITE}/SV-218749.rb",
    "IIS 10.0 Site STIG IIST-SI-000220: A private IIS 10.0 website authentication mechanism must use client certificates to transmit session identifier to assure integrity.",
)
STIG_218751 = _stig(
    "218751",
    f"{_STIG_SITE}/SV-218751.rb",
    "IIS 10.0 Site STIG IIST-SI-000223: The IIS 10.0 website must generate unique session identifiers that cannot be reliably reproduced.",
)
STIG_218752 = _stig(
    "218752",
    f"{_STIG_SITE}/SV-218752.rb",
    "IIS 10.0 Site STIG IIST-SI-000224: The IIS 10.0 website document directory must be in a separate partition from the IIS 10.0 websites system files.",
)
STIG_218753 = _stig(
    "218753",
    f"{_STIG_SITE}/SV-218753.rb",
    "IIS 10.0 Site STIG IIST-SI-000225: The IIS 10.0 website must be configured to limit the maxURL.",
)
STIG_218754 = _stig(
    "218754",
    f"{_STIG_SITE}/SV-218754.rb",
    "IIS 10.0 Site STIG IIST-SI-000226: The IIS 10.0 website must be configured to limit the size of web requests.",
)
STIG_218755 = _stig(
    "218755",
    f"{_STIG_SITE}/SV-218755.rb",
    "IIS 10.0 Site STIG IIST-SI-000227: The IIS 10.0 websites Maximum Query String limit must be configured.",
)
STIG_218756 = _stig(
    "218756",
    f"{_STIG_SITE}/SV-218756.rb",
    "IIS 10.0 Site STIG IIST-SI-000228: Non-ASCII characters in URLs must be prohibited by any IIS 10.0 website.",
)
STIG_218757 = _stig(
    "218757",
    f"{_STIG_SITE}/SV-218757.rb",
    "IIS 10.0 Site STIG IIST-SI-000229: Double encoded URL requests must be prohibited by any IIS 10.0 website.",
)
STIG_218758 = _stig(
    "218758",
    f"{_STIG_SITE}/SV-218758.rb",
    "IIS 10.0 Site STIG IIST-SI-000230: Unlisted file extensions in URL requests must be filtered by any IIS 10.0 website.",
)
STIG_218759 = _stig(
    "218759",
    f"{_STIG_SITE}/SV-218759.rb",
    "IIS 10.0 Site STIG IIST-SI-000231: Directory Browsing on the IIS 10.0 website must be disabled.",
)
STIG_218760 = _stig(
    "218760",
    f"{_STIG_SITE}/SV-218760.rb",
    "IIS 10.0 Site STIG IIST-SI-000233: Warning and error messages displayed to clients must be modified to minimize the identity of the IIS 10.0 website, patches, loaded modules, and directory paths.",
)
STIG_218761 = _stig(
    "218761",
    f"{_STIG_SITE}/SV-218761.rb",
    "IIS 10.0 Site STIG IIST-SI-000234: Debugging and trace information used to diagnose the IIS 10.0 website must be disabled.",
)
STIG_218762 = _stig(
    "218762",
    f"{_STIG_SITE}/SV-218762.rb",
    "IIS 10.0 Site STIG IIST-SI-000235: The Idle Time-out monitor for each IIS 10.0 website must be enabled.",
)
STIG_218763 = _stig(
    "218763",
    f"{_STIG_SITE}/SV-218763.rb",
    "IIS 10.0 Site STIG IIST-SI-000236: The IIS 10.0 websites connectionTimeout setting must be explicitly configured to disconnect an idle session.",
)
STIG_218765 = _stig(
    "218765",
    f"{_STIG_SITE}/SV-218765.rb",
    "IIS 10.0 Site STIG IIST-SI-000238: The IIS 10.0 website must use a logging mechanism configured to allocate log record storage capacity large enough to accommodate the logging requirements of the IIS 10.0 website.",
)
STIG_218768 = _stig(
    "218768",
    f"{_STIG_SITE}/SV-218768.rb",
    "IIS 10.0 Site STIG IIST-SI-000242: The IIS 10.0 private website must employ cryptographic mechanisms (TLS) and require client certificates.",
)
STIG_218769 = _stig(
    "218769",
    f"{_STIG_SITE}/SV-218769.rb",
    "IIS 10.0 Site STIG IIST-SI-000244: IIS 10.0 website session IDs must be sent to the client using TLS.",
)
STIG_218770 = _stig(
    "218770",
    f"{_STIG_SITE}/SV-218770.rb",
    "IIS 10.0 Site STIG IIST-SI-000246: Cookies exchanged between the IIS 10.0 website and the client must have cookie properties set to prohibit client-side scripts from reading the cookie data.",
)
STIG_218772 = _stig(
    "218772",
    f"{_STIG_SITE}/SV-218772.rb",
    "IIS 10.0 Site STIG IIST-SI-000252: The maximum number of requests an application pool can process for each IIS 10.0 website must be explicitly set.",
)
STIG_218775 = _stig(
    "218775",
    f"{_STIG_SITE}/SV-218775.rb",
    "IIS 10.0 Site STIG IIST-SI-000255: The application pool for each IIS 10.0 website must have a recycle time explicitly set.",
)
STIG_218777 = _stig(
    "218777",
    f"{_STIG_SITE}/SV-218777.rb",
    "IIS 10.0 Site STIG IIST-SI-000258: The application pools rapid fail protection for each IIS 10.0 website must be enabled.",
)
STIG_218778 = _stig(
    "218778",
    f"{_STIG_SITE}/SV-218778.rb",
    "IIS 10.0 Site STIG IIST-SI-000259: The application pools rapid fail protection settings for each IIS 10.0 website must be managed.",
)
CIS_1_1 = Reference("CIS-IIS10-1.1", _CIS_IIS, "Ensure 'Web content' is on non-system partition")
CIS_1_2 = Reference("CIS-IIS10-1.2", _CIS_IIS, "Ensure 'Host headers' are on all sites")
CIS_1_3 = Reference("CIS-IIS10-1.3", _CIS_IIS, "Ensure 'Directory browsing' is set to Disabled")
CIS_2_3 = Reference("CIS-IIS10-2.3", _CIS_IIS, "Ensure 'forms authentication' require SSL")
CIS_2_4 = Reference("CIS-IIS10-2.4", _CIS_IIS, "Ensure 'forms authentication' is set to use cookies")
CIS_2_5 = Reference(
    "CIS-IIS10-2.5", _CIS_IIS, "Ensure 'cookie protection mode' is configured for forms authentication"
)
CIS_2_6 = Reference(
    "CIS-IIS10-2.6", _CIS_IIS, "Ensure transport layer security for 'basic authentication' is configured"
)
CIS_3_1 = Reference("CIS-IIS10-3.1", _CIS_IIS, "Ensure 'deployment method retail' is set")
CIS_3_2 = Reference("CIS-IIS10-3.2", _CIS_IIS, "Ensure 'debug' is turned off")
CIS_3_3 = Reference("CIS-IIS10-3.3", _CIS_IIS, "Ensure custom error messages are not off")
CIS_3_4 = Reference(
    "CIS-IIS10-3.4", _CIS_IIS, "Ensure IIS HTTP detailed errors are hidden from displaying remotely"
)
CIS_3_5 = Reference("CIS-IIS10-3.5", _CIS_IIS, "Ensure ASP.NET stack tracing is not enabled")
CIS_3_6 = Reference("CIS-IIS10-3.6", _CIS_IIS, "Ensure 'httpcookie' mode is configured for session state")
CIS_3_7 = Reference("CIS-IIS10-3.7", _CIS_IIS, "Ensure 'cookies' are set with HttpOnly attribute")
CIS_3_8 = Reference(
    "CIS-IIS10-3.8", _CIS_IIS, "Ensure 'MachineKey validation method - .Net 3.5' is configured"
)
CIS_3_9 = Reference(
    "CIS-IIS10-3.9", _CIS_IIS, "Ensure 'MachineKey validation method - .Net 4.5' is configured"
)
CIS_3_10 = Reference("CIS-IIS10-3.10", _CIS_IIS, "Ensure global .NET trust level is configured")
CIS_3_11 = Reference("CIS-IIS10-3.11", _CIS_IIS, "Ensure X-Powered-By Header is removed")
CIS_3_12 = Reference("CIS-IIS10-3.12", _CIS_IIS, "Ensure Server Header is removed")
CIS_4_1 = Reference("CIS-IIS10-4.1", _CIS_IIS, "Ensure 'maxAllowedContentLength' is configured")
CIS_4_2 = Reference("CIS-IIS10-4.2", _CIS_IIS, "Ensure 'maxURL request filter' is configured")
CIS_4_3 = Reference("CIS-IIS10-4.3", _CIS_IIS, "Ensure 'MaxQueryString request filter' is configured")
CIS_4_4 = Reference("CIS-IIS10-4.4", _CIS_IIS, "Ensure non-ASCII characters in URLs are not allowed")
CIS_4_5 = Reference("CIS-IIS10-4.5", _CIS_IIS, "Ensure Double-Encoded requests will be rejected")
CIS_4_6 = Reference("CIS-IIS10-4.6", _CIS_IIS, "Ensure 'HTTP Trace Method' is disabled")
CIS_4_7 = Reference("CIS-IIS10-4.7", _CIS_IIS, "Ensure Unlisted File Extensions are not allowed")
CIS_4_9 = Reference("CIS-IIS10-4.9", _CIS_IIS, "Ensure 'notListedIsapisAllowed' is set to false")
CIS_4_10 = Reference("CIS-IIS10-4.10", _CIS_IIS, "Ensure 'notListedCgisAllowed' is set to false")
CIS_4_11 = Reference("CIS-IIS10-4.11", _CIS_IIS, "Ensure 'Dynamic IP Address Restrictions' is enabled")
CIS_5_2 = Reference("CIS-IIS10-5.2", _CIS_IIS, "Ensure Advanced IIS logging is enabled")
CIS_5_3 = Reference("CIS-IIS10-5.3", _CIS_IIS, "Ensure 'ETW Logging' is enabled")
CIS_6_1 = Reference("CIS-IIS10-6.1", _CIS_IIS, "Ensure FTP requests are encrypted")
CIS_6_2 = Reference("CIS-IIS10-6.2", _CIS_IIS, "Ensure FTP Logon attempt restrictions is enabled")
CIS_7_1 = Reference("CIS-IIS10-7.1", _CIS_IIS, "Ensure HSTS Header is set")
STIG_218766 = _stig(
    "218766",
    f"{_STIG_SITE}/SV-218766.rb",
    "IIS 10.0 Site STIG IIST-SI-000239: The IIS 10.0 websites must use ports, protocols, and services according to Ports, Protocols, and Services Management (PPSM) guidelines.",
)
STIG_218781 = _stig(
    "218781",
    f"{_STIG_SITE}/SV-218781.rb",
    "IIS 10.0 Site STIG IIST-SI-000263: Backup interactive scripts on the IIS 10.0 server must be removed.",
)
# The IIS configuration reference pages of the settings those rules read (schema defaults are there too).
_IIS_CONFIG = f"{_LEARN}/iis/configuration"
MS_REQUEST_FILTERING = Reference(
    "MS-requestFiltering", f"{_IIS_CONFIG}/system.webserver/security/requestfiltering/", "Request Filtering"
)
MS_DIRECTORY_BROWSE = Reference(
    "MS-directoryBrowse", f"{_IIS_CONFIG}/system.webserver/directorybrowse", "Directory Browse"
)
MS_HTTP_ERRORS = Reference("MS-httpErrors", f"{_IIS_CONFIG}/system.webserver/httperrors/", "HTTP Errors")
MS_STATIC_CONTENT = Reference(
    "MS-staticContent",
    f"{_IIS_CONFIG}/system.webserver/staticcontent/mimemap",
    "Adding Static Content MIME Mappings",
)
MS_HANDLERS = Reference("MS-handlers", f"{_IIS_CONFIG}/system.webserver/handlers/", "Handlers")
MS_WEBDAV = Reference(
    "MS-webdav-authoring", f"{_IIS_CONFIG}/system.webserver/webdav/authoring", "WebDAV Authoring"
)
MS_ISAPI_CGI = Reference(
    "MS-isapiCgiRestriction",
    f"{_IIS_CONFIG}/system.webserver/security/isapicgirestriction/",
    "ISAPI and CGI Restrictions",
)
MS_ACCESS = Reference(
    "MS-access-sslFlags", f"{_IIS_CONFIG}/system.webserver/security/access", "Security Access (sslFlags)"
)
MS_DYNAMIC_IP = Reference(
    "MS-dynamicIpSecurity",
    f"{_IIS_CONFIG}/system.webserver/security/dynamicipsecurity/",
    "Dynamic IP Security",
)
MS_CUSTOM_HEADERS = Reference(
    "MS-customHeaders", f"{_IIS_CONFIG}/system.webserver/httpprotocol/customheaders/", "Custom Headers"
)
MS_LOGFILE = Reference(
    "MS-logFile",
    f"{_IIS_CONFIG}/system.applicationhost/sites/sitedefaults/logfile/",
    "Default Log File Settings",
)
MS_CUSTOM_FIELDS = Reference(
    "MS-customFields",
    f"{_IIS_CONFIG}/system.applicationhost/sites/site/logfile/customfields/",
    "Custom Fields for Site Logging",
)
MS_LIMITS = Reference(
    "MS-limits", f"{_IIS_CONFIG}/system.applicationhost/sites/site/limits", "Limits for a Web Site"
)
MS_HSTS = Reference("MS-hsts", f"{_IIS_CONFIG}/system.applicationhost/sites/site/hsts", "HSTS")
MS_FTP_SSL = Reference(
    "MS-ftpServer-ssl",
    f"{_IIS_CONFIG}/system.applicationhost/sites/site/ftpserver/security/ssl",
    "FTP over SSL",
)
MS_FTP_DENY_BY_FAILURE = Reference(
    "MS-ftp-denyByFailure",
    f"{_IIS_CONFIG}/system.ftpserver/security/authentication/denybyfailure",
    "FTP Logon Attempt Restrictions",
)
MS_RECYCLING = Reference(
    "MS-recycling",
    f"{_IIS_CONFIG}/system.applicationhost/applicationpools/add/recycling/",
    "Recycling Settings",
)
MS_FAILURE = Reference(
    "MS-failure", f"{_IIS_CONFIG}/system.applicationhost/applicationpools/add/failure", "Failure Settings"
)
MS_BINDINGS = Reference(
    "MS-bindings", f"{_IIS_CONFIG}/system.applicationhost/sites/site/bindings/", "Bindings"
)
MS_ARR_PROXY = Reference(
    "MS-ARR-proxy",
    f"{_LEARN}/iis/extensions/configuring-application-request-routing-arr/creating-a-forward-proxy-using-application-request-routing",
    "Application Request Routing: forward proxy",
)
MS_ASP_SESSION = Reference("MS-asp-session", f"{_IIS_CONFIG}/system.webserver/asp/session", "ASP Session")
_NETFX_CONFIG = f"{_LEARN}/previous-versions/dotnet/netframework-4.0"
MS_COMPILATION = Reference(
    "MS-compilation", f"{_NETFX_CONFIG}/s10awwz0(v=vs.100)", "compilation Element (ASP.NET)"
)
MS_CUSTOM_ERRORS = Reference("MS-customErrors", f"{_NETFX_CONFIG}/h0hfz6fc(v=vs.100)", "customErrors Element")
MS_TRACE = Reference("MS-trace", f"{_NETFX_CONFIG}/6915t83k(v=vs.100)", "trace Element (ASP.NET)")
MS_DEPLOYMENT = Reference("MS-deployment", f"{_NETFX_CONFIG}/ms228298(v=vs.100)", "deployment Element")
MS_SESSION_STATE = Reference("MS-sessionState", f"{_NETFX_CONFIG}/h6bb9cz9(v=vs.100)", "sessionState Element")
MS_HTTP_COOKIES = Reference("MS-httpCookies", f"{_NETFX_CONFIG}/ms228262(v=vs.100)", "httpCookies Element")
MS_FORMS = Reference("MS-forms", f"{_NETFX_CONFIG}/1d3t3c61(v=vs.100)", "forms Element for authentication")
MS_MACHINE_KEY = Reference("MS-machineKey", f"{_NETFX_CONFIG}/w8h3skw9(v=vs.100)", "machineKey Element")
MS_TRUST = Reference("MS-trust", f"{_NETFX_CONFIG}/tkscy493(v=vs.100)", "trust Element")
MS_HTTP_RUNTIME = Reference("MS-httpRuntime", f"{_NETFX_CONFIG}/e1f13641(v=vs.100)", "httpRuntime Element")
