"""Built-in rule pack: IIS-TLS-* rules, the server's TLS from the SCHANNEL registry and .NET strong crypto.

Every rule asks ``snap.tls`` (``iisguard.tls``): True/False/None with Windows' default for the captured
OS build when a key is absent. A key that was not captured is ``not_reviewed``, never a pass.

Where the OS default and the STIG part ways: Windows Server 2016-2022 enable TLS 1.0 and 1.1 when no
key says otherwise, and the STIG (V-218821, CAT I) wants them off with the keys present. IIS-TLS-002
reports that default as a *low* failure (visible, not gating a fresh install at medium) and raises an
explicit ``Enabled=1`` to *high*; the ``stig-iis10`` profile raises every failure to high and sets
``require_explicit`` so an absent key fails as the STIG says.
"""

from __future__ import annotations

from iisguard import Parameter, fail, hookimpl, not_applicable, not_reviewed, passed, rule
from iisguard import references as refs

OLD_SSL = ("SSL 2.0", "SSL 3.0")
OLD_TLS = ("TLS 1.0", "TLS 1.1")
WEAK_CIPHERS = [
    "NULL",
    "DES 56/56",
    "RC2 40/128",
    "RC2 56/128",
    "RC2 128/128",
    "RC4 40/128",
    "RC4 56/128",
    "RC4 64/128",
    "RC4 128/128",
]
_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL"
_REQUIRE_EXPLICIT = Parameter(
    "require_explicit",
    False,
    "Fail when the SCHANNEL key is absent even if the OS default complies (the STIG's reading: the "
    "registry paths must exist); the stig-iis10 profile turns it on",
    type="bool",
)


def _resource(protocol: str, side: str = "Server") -> str:
    return f"registry/SCHANNEL/Protocols/{protocol}/{side}"


def _disable(protocol: str) -> str:
    key = f"{_KEY}\\Protocols\\{protocol}\\Server"
    return (
        f"New-Item -Path 'HKLM:{key[4:]}' -Force | Out-Null; "
        f"Set-ItemProperty -Path 'HKLM:{key[4:]}' -Name Enabled -Value 0 -Type DWord; "
        f"Set-ItemProperty -Path 'HKLM:{key[4:]}' -Name DisabledByDefault -Value 1 -Type DWord"
    )


def _must_be_off(snap, params, protocols):
    """Findings for protocols that must not be usable on the server side."""
    for protocol in protocols:
        resource = _resource(protocol)
        setting = snap.tls.protocol(protocol, "Server")
        if setting.value is None:
            yield not_reviewed(resource, f'{setting.why}; capture: reg query "{_KEY}" /s')
        elif setting.value:
            explicit = setting.source == "registry"
            yield fail(
                resource,
                f"{protocol} is enabled on the server side ({setting.why}). Clients can be made to negotiate it, "
                f"and its weaknesses expose the traffic; disable it: {_disable(protocol)}",
                at=setting.at,
                **({"severity": "high"} if explicit else {}),
            )
        elif params["require_explicit"] and not snap.tls.explicitly_disabled(protocol, "Server"):
            yield fail(
                resource,
                f"{protocol} is off only by default ({setting.why}); the STIG requires Enabled=0 and "
                f"DisabledByDefault=1 to be set: {_disable(protocol)}",
                at=setting.at,
            )
        else:
            yield passed(
                resource, f"{protocol} is disabled on the server side ({setting.why})", at=setting.at
            )


@rule(
    id="IIS-TLS-001",
    name="tls.ssl_enabled",
    title="SSL 2.0 or SSL 3.0 enabled on the server",
    severity="high",
    category="tls",
    description=(
        "Fails when SSL 2.0 or SSL 3.0 is usable on the server side of SCHANNEL: Enabled not 0 (or DisabledByDefault "
        "not 1) under SCHANNEL\\Protocols\\<protocol>\\Server, or no key on an OS build that enables it by default."
    ),
    rationale=(
        "SSL 2.0 and 3.0 are broken (DROWN, POODLE); a server that still accepts them lets an attacker downgrade a "
        "connection and decrypt it."
    ),
    remediation="\n".join(_disable(p) for p in OLD_SSL)
    + "\nRestart the server for SCHANNEL to read the keys.",
    references=[
        refs.STIG_218821_TLS,
        refs.CIS_7_2,
        refs.CIS_7_3,
        refs.MS_TLS_REGISTRY,
        refs.MS_TLS_PROTOCOLS,
    ],
    parameters=[_REQUIRE_EXPLICIT],
    needs=("registry",),
)
def ssl_enabled(snap, params):
    """Checks: `SCHANNEL\\Protocols\\SSL 2.0\\Server` and `SSL 3.0\\Server` (Enabled, DisabledByDefault),
    through `snap.tls.protocol()`; with no key, Windows' default for the captured OS build (both off
    since Windows Server 2016). Not reviewed when the SCHANNEL key was not captured or the build's
    default is not documented. With `require_explicit`, a protocol off only by default fails.
    Why: SSL 3.0 falls to POODLE and SSL 2.0 to DROWN; accepting them at all allows a downgrade.
    Bad: `SSL 3.0\\Server` `Enabled REG_DWORD 0x1`.
    Good: `SSL 3.0\\Server` `Enabled 0x0`, `DisabledByDefault 0x1` (or no key on Windows Server 2022).
    """
    yield from _must_be_off(snap, params, OLD_SSL)


@rule(
    id="IIS-TLS-002",
    name="tls.tls10_tls11_enabled",
    title="TLS 1.0 or TLS 1.1 enabled on the server",
    severity="low",
    category="tls",
    description=(
        "Fails when TLS 1.0 or TLS 1.1 is usable on the server side of SCHANNEL. Enabled only by the OS default "
        "(no key; Windows Server 2012-2022) is a low finding; an explicit Enabled=1 is high."
    ),
    rationale=(
        "TLS 1.0 and 1.1 are deprecated (RFC 8996) and not approved by NIST SP 800-52; the STIG (CAT I) and CIS "
        "require them off. Windows Server up to 2022 still enables them by default, which is why the default is "
        "reported but does not gate at medium."
    ),
    remediation="\n".join(_disable(p) for p in OLD_TLS)
    + "\nCheck first that no client of the site needs them (IIS logs with the crypt-protocol field).",
    references=[
        refs.STIG_218821_TLS,
        refs.STIG_218822_TLS,
        refs.CIS_7_4,
        refs.CIS_7_5,
        refs.MS_TLS_REGISTRY,
        refs.MS_TLS_PROTOCOLS,
    ],
    parameters=[_REQUIRE_EXPLICIT],
    needs=("registry",),
)
def tls10_tls11_enabled(snap, params):
    """Checks: `SCHANNEL\\Protocols\\TLS 1.0\\Server` and `TLS 1.1\\Server` through `snap.tls.protocol()`;
    with no key, the default of the captured OS build (on in Windows Server 2012 through 2022).
    Not reviewed when the key was not captured or the build's default is not documented.
    Why: deprecated protocols (RFC 8996) with weak handshakes; approved TLS means 1.2 or later.
    Bad: `TLS 1.0\\Server` `Enabled REG_DWORD 0xffffffff` (high), or no key on Server 2019 (low).
    Good: `TLS 1.0\\Server` `Enabled 0x0`, `DisabledByDefault 0x1`.
    """
    yield from _must_be_off(snap, params, OLD_TLS)


@rule(
    id="IIS-TLS-003",
    name="tls.tls12_disabled",
    title="TLS 1.2 not enabled on the server",
    severity="high",
    category="tls",
    description=(
        "Fails when TLS 1.2 is not usable on the server side: Enabled=0 or DisabledByDefault=1 under "
        "SCHANNEL\\Protocols\\TLS 1.2\\Server, or no key on an OS build where it is off by default (2008 R2)."
    ),
    rationale="Without TLS 1.2 (or 1.3) a server offers only protocols that are deprecated or broken.",
    remediation=(
        "New-Item -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server' -Force\n"
        "Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server' -Name Enabled -Value 1 -Type DWord\n"
        "Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server' -Name DisabledByDefault -Value 0 -Type DWord"
    ),
    references=[refs.STIG_218821_TLS, refs.STIG_218822_TLS, refs.CIS_7_6, refs.MS_TLS_REGISTRY],
    parameters=[_REQUIRE_EXPLICIT],
    needs=("registry",),
)
def tls12_disabled(snap, params):
    """Checks: `SCHANNEL\\Protocols\\TLS 1.2\\Server` through `snap.tls.protocol()`; with no key, the
    default of the captured OS build (on since Windows Server 2012). With `require_explicit` (the STIG's
    reading), Enabled=1 and DisabledByDefault=0 must both be set.
    Why: TLS 1.2 is the oldest version NIST SP 800-52 approves.
    Bad: `TLS 1.2\\Server` `Enabled 0x0`.
    Good: `TLS 1.2\\Server` `Enabled 0x1`, `DisabledByDefault 0x0`, or no key on Windows Server 2016+.
    """
    resource = _resource("TLS 1.2")
    setting = snap.tls.protocol("TLS 1.2", "Server")
    if setting.value is None:
        yield not_reviewed(resource, f'{setting.why}; capture: reg query "{_KEY}" /s')
    elif not setting.value:
        yield fail(
            resource,
            f"TLS 1.2 is not enabled on the server side ({setting.why}); clients fall back to deprecated protocols "
            "or fail. Set Enabled=1 and DisabledByDefault=0 under SCHANNEL\\Protocols\\TLS 1.2\\Server",
            at=setting.at,
        )
    elif params["require_explicit"] and not snap.tls.explicitly_enabled("TLS 1.2", "Server"):
        yield fail(
            resource,
            f"TLS 1.2 is on only by default ({setting.why}); the STIG requires Enabled=1 and DisabledByDefault=0 "
            "to be set under SCHANNEL\\Protocols\\TLS 1.2\\Server",
            at=setting.at,
        )
    else:
        yield passed(resource, f"TLS 1.2 is enabled on the server side ({setting.why})", at=setting.at)


@rule(
    id="IIS-TLS-004",
    name="tls.weak_ciphers",
    title="Weak SCHANNEL ciphers usable (NULL, DES, RC2, RC4)",
    severity="high",
    category="tls",
    description=(
        "Fails for each cipher of `weak_ciphers` that SCHANNEL may use: Enabled not 0 under "
        "SCHANNEL\\Ciphers\\<cipher>, or no key on an OS build whose default cipher suites include it."
    ),
    rationale=(
        "NULL ciphers do not encrypt, DES and RC2 keys are brute-forced, RC4 is biased (RFC 7465 forbids it); a "
        "server that offers them lets a downgrade expose the traffic."
    ),
    remediation=(
        "foreach ($c in 'NULL','DES 56/56','RC2 40/128','RC2 56/128','RC2 128/128','RC4 40/128','RC4 56/128','RC4 64/128','RC4 128/128') {\n"
        "  $k = (Get-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers').OpenSubKey('', $true).CreateSubKey($c)\n"
        "  $k.SetValue('Enabled', 0, 'DWord'); $k.Close() }"
    ),
    references=[refs.STIG_218822_TLS, refs.CIS_7_7, refs.CIS_7_8, refs.CIS_7_9, refs.MS_TLS_REGISTRY],
    parameters=[
        Parameter(
            "weak_ciphers",
            WEAK_CIPHERS,
            "SCHANNEL cipher key names that must be disabled; add 'Triple DES 168' to refuse 3DES as well "
            "(Windows still enables it by default)",
        )
    ],
    needs=("registry",),
)
def weak_ciphers(snap, params):
    """Checks: `SCHANNEL\\Ciphers\\<name>` Enabled for each of `weak_ciphers` (the key names contain a
    slash: `RC4 128/128`); with no key, the default of the captured OS build (none of them is in the
    default cipher suites since Windows Server 2016). Not reviewed when the Ciphers keys were not
    captured or the build's default is not known.
    Why: these ciphers give no or breakable confidentiality (RFC 7465 for RC4).
    Bad: `Ciphers\\RC4 128/128` `Enabled 0xffffffff`.
    Good: `Ciphers\\RC4 128/128` `Enabled 0x0`, or no key on Windows Server 2019.
    """
    for cipher in params["weak_ciphers"]:
        resource = f"registry/SCHANNEL/Ciphers/{cipher}"
        setting = snap.tls.algorithm("Ciphers", cipher)
        if setting.value is None:
            yield not_reviewed(resource, f'{setting.why}; capture: reg query "{_KEY}" /s')
        elif setting.value:
            yield fail(
                resource,
                f"The {cipher} cipher is usable by SCHANNEL ({setting.why}); it gives no or breakable "
                f"confidentiality. Set Enabled=0 under SCHANNEL\\Ciphers\\{cipher}",
                at=setting.at,
            )
        else:
            yield passed(resource, f"{cipher} is not usable ({setting.why})", at=setting.at)


@rule(
    id="IIS-TLS-005",
    name="tls.aes128_enabled",
    title="AES 128/128 cipher not disabled (CIS 7.10)",
    severity="low",
    category="tls",
    description="Fails when SCHANNEL\\Ciphers\\AES 128/128 is not set to Enabled=0, as CIS IIS 10 7.10 asks.",
    rationale=(
        "CIS keeps only AES 256 suites. AES 128 is not weak, and turning it off removes the AES_128_GCM suites "
        "many clients prefer, so this rule is off in the default profile and on in the cis-iis10 profile."
    ),
    remediation=(
        "$k = (Get-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers').OpenSubKey('', $true).CreateSubKey('AES 128/128')\n"
        "$k.SetValue('Enabled', 0, 'DWord'); $k.Close()"
    ),
    references=[refs.CIS_7_10, refs.MS_TLS_REGISTRY],
    needs=("registry",),
    default_enabled=False,
)
def aes128_enabled(snap, params):
    """Checks: `SCHANNEL\\Ciphers\\AES 128/128` Enabled (no key: usable, the Windows default).
    Not reviewed when the Ciphers keys were not captured.
    Why: the CIS benchmark's reading of a minimal cipher list.
    Bad: no `AES 128/128` key.
    Good: `Ciphers\\AES 128/128` `Enabled 0x0`.
    """
    resource = "registry/SCHANNEL/Ciphers/AES 128/128"
    setting = snap.tls.algorithm("Ciphers", "AES 128/128")
    if setting.value is None:
        yield not_reviewed(resource, f'{setting.why}; capture: reg query "{_KEY}" /s')
    elif setting.value:
        yield fail(
            resource, f"AES 128/128 is usable ({setting.why}); CIS 7.10 asks for Enabled=0", at=setting.at
        )
    else:
        yield passed(resource, f"AES 128/128 is disabled ({setting.why})", at=setting.at)


@rule(
    id="IIS-TLS-006",
    name="tls.aes256_disabled",
    title="AES 256/256 cipher disabled",
    severity="medium",
    category="tls",
    description="Fails when SCHANNEL\\Ciphers\\AES 256/256 has Enabled=0 (no key: enabled, the Windows default).",
    rationale="Without AES 256 the server is left with weaker or no approved bulk ciphers.",
    remediation=(
        "$k = (Get-Item 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers').OpenSubKey('', $true).CreateSubKey('AES 256/256')\n"
        "$k.SetValue('Enabled', 0xffffffff, 'DWord'); $k.Close()"
    ),
    references=[refs.CIS_7_11, refs.MS_TLS_REGISTRY],
    needs=("registry",),
)
def aes256_disabled(snap, params):
    """Checks: `SCHANNEL\\Ciphers\\AES 256/256` Enabled; with no key, usable by default (Windows Server
    2016 and later). Not reviewed when the Ciphers keys were not captured.
    Why: AES 256 suites are the strongest SCHANNEL offers; turning them off weakens every connection.
    Bad: `Ciphers\\AES 256/256` `Enabled 0x0`.
    Good: no key, or `Enabled 0xffffffff`.
    """
    resource = "registry/SCHANNEL/Ciphers/AES 256/256"
    setting = snap.tls.algorithm("Ciphers", "AES 256/256")
    if setting.value is None:
        yield not_reviewed(resource, f'{setting.why}; capture: reg query "{_KEY}" /s')
    elif not setting.value:
        yield fail(
            resource,
            f"AES 256/256 is disabled ({setting.why}); enable it (Enabled=0xffffffff)",
            at=setting.at,
        )
    else:
        yield passed(resource, f"AES 256/256 is usable ({setting.why})", at=setting.at)


_WEAK_SUITE_MARKS = ("_RC4_", "_DES_", "_3DES_", "_NULL_", "_EXPORT", "_MD5", "_anon_")


@rule(
    id="IIS-TLS-007",
    name="tls.cipher_suite_order",
    title="TLS cipher suite order not configured, or it lists weak suites",
    severity="low",
    category="tls",
    description=(
        "Fails when no cipher suite order is configured (Group Policy 'SSL Cipher Suite Order', the Functions "
        "value under HKLM\\SOFTWARE\\Policies\\...\\SSL\\00010002), and at medium when the configured order lists RC4, DES, 3DES, NULL, EXPORT, MD5 or "
        "anonymous suites."
    ),
    rationale=(
        "CIS 7.12 asks for an explicit order so the strongest suites are negotiated first; an order that lists "
        "broken suites makes them negotiable whatever the cipher keys say."
    ),
    remediation=(
        "Set the order by Group Policy (Computer Configuration > Administrative Templates > Network > SSL Configuration "
        "Settings > SSL Cipher Suite Order), or: Enable-TlsCipherSuite / Disable-TlsCipherSuite -Name TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    ),
    references=[refs.CIS_7_12, refs.MS_TLS_SUITE_ORDER],
    needs=("registry",),
    default_enabled=False,
)
def cipher_suite_order(snap, params):
    """Checks: `HKLM\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002` Functions,
    (the local `...\\Configuration\\Local\\SSL\\00010002` key is Windows' own list, not a configured
    order); each suite named there against RC4/DES/3DES/NULL/EXPORT/MD5/anon. Not reviewed when the
    policy key was not read.
    Why: the order decides what a client that offers everything gets.
    Bad: no Functions value; or one starting with `TLS_RSA_WITH_RC4_128_SHA`.
    Good: `Functions` = `TLS_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,...`.
    """
    resource = "registry/SSL/00010002/Functions"
    suites, source, value = snap.tls.suite_order()
    at = value.record if value else None
    if source == "unknown":
        yield not_reviewed(
            resource,
            "The cipher suite order keys were not captured; capture: reg query "
            "HKLM\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002",
        )
    elif not suites:
        yield fail(
            resource,
            "No TLS cipher suite order is configured (Windows' built-in order applies); set one (CIS 7.12)",
        )
    else:
        weak = [s for s in suites if any(m.casefold() in s.casefold() for m in _WEAK_SUITE_MARKS)]
        if weak:
            yield fail(
                resource,
                f"The configured cipher suite order ({source}) lists weak suites: {', '.join(weak[:5])}; remove them",
                at=at,
                severity="medium",
            )
        else:
            yield passed(
                resource, f"A cipher suite order is configured ({source}, {len(suites)} suites)", at=at
            )


@rule(
    id="IIS-TLS-008",
    name="tls.dotnet_strong_crypto",
    title=".NET Framework strong cryptography not turned on",
    severity="low",
    category="tls",
    description=(
        "Fails for each installed .NET Framework (v4.0.30319, v2.0.50727; 64-bit and 32-bit views) whose key lacks "
        "SchUseStrongCrypto=1 or SystemDefaultTlsVersions=1; an explicit 0 is medium."
    ),
    rationale=(
        "Without them, ASP.NET code that targets an older framework, or .NET 3.5, makes outgoing connections with "
        "SSL 3.0/TLS 1.0 and weak ciphers; with them it uses the OS's TLS defaults (TLS 1.2+)."
    ),
    remediation=(
        "foreach ($p in 'HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319','HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319',"
        "'HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727','HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v2.0.50727') {\n"
        "  if (Test-Path $p) { Set-ItemProperty $p -Name SchUseStrongCrypto -Value 1 -Type DWord; Set-ItemProperty $p -Name SystemDefaultTlsVersions -Value 1 -Type DWord } }"
    ),
    references=[refs.MS_DOTNET_TLS, refs.STIG_218822_TLS],
    needs=("registry",),
)
def dotnet_strong_crypto(snap, params):
    """Checks: `SchUseStrongCrypto` and `SystemDefaultTlsVersions` under
    `HKLM\\SOFTWARE\\[WOW6432Node\\]Microsoft\\.NETFramework\\v4.0.30319` and `v2.0.50727`, for each of
    those keys that exists. Not applicable for a framework that is not installed; not reviewed when
    the keys were not captured.
    Why: the values make every .NET version use the OS's TLS defaults instead of SSL 3.0/TLS 1.0.
    Bad: `v4.0.30319` without `SchUseStrongCrypto`, or with `SchUseStrongCrypto 0x0` (medium).
    Good: `SchUseStrongCrypto 0x1` and `SystemDefaultTlsVersions 0x1` in both views.
    """
    from iisguard import tls as tlsmodel

    judged = False
    for version in tlsmodel.DOTNET_VERSIONS:
        for wow64 in (False, True):
            view = "32-bit" if wow64 else "64-bit"
            resource = f"registry/.NETFramework/{version}/{view}"
            installed = snap.tls.dotnet_installed(version, wow64=wow64)
            if installed is None:
                judged = True
                yield not_reviewed(
                    resource, f"The .NET Framework {version} ({view}) registry key was not captured"
                )
                continue
            if not installed:
                continue
            judged = True
            settings = [snap.tls.dotnet(version, name, wow64=wow64) for name in tlsmodel.DOTNET_VALUES]
            missing = [s for s in settings if not s.value]
            if not missing:
                yield passed(
                    resource, f".NET {version} ({view}) uses strong cryptography and the OS's TLS versions"
                )
                continue
            explicit_off = any(s.source == "registry" for s in missing)
            yield fail(
                resource,
                f".NET {version} ({view}): {'; '.join(s.why for s in missing)}. Applications on it may connect with "
                "SSL 3.0/TLS 1.0 and weak ciphers; set SchUseStrongCrypto=1 and SystemDefaultTlsVersions=1",
                at=next((s.at for s in missing if s.at), None),
                **({"severity": "medium"} if explicit_off else {}),
            )
    if not judged:
        yield not_applicable("registry/.NETFramework", "No .NET Framework registry key exists on this server")


@hookimpl
def iisguard_pack_info():
    return {
        "prefixes": ["IIS-TLS-"],
        "description": "Built-in IIS-TLS-* rules: SCHANNEL protocols and ciphers, cipher suite order, .NET strong crypto",
    }


@hookimpl
def iisguard_register_rules():
    return [
        ssl_enabled,
        tls10_tls11_enabled,
        tls12_disabled,
        weak_ciphers,
        aes128_enabled,
        aes256_disabled,
        cipher_suite_order,
        dotnet_strong_crypto,
    ]
