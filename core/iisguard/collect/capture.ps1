<#
.SYNOPSIS
    iisguard capture script: what the identities of this IIS server are, as raw captures.
.NOTES
    Runs on Windows PowerShell 5.1 and PowerShell 7 with no module required (the
    ActiveDirectory module is used only when present; account facts come from [adsisearcher]).
    Every section runs in its own try/catch, so one failing command does not stop the rest;
    a failed section is reported in capture.yaml (and in the -Stream output) with its error.
    Secret VALUES never leave the server: passwords, session and machine keys and encrypted
    section ciphertext in the copied configuration files are replaced before writing
    ([enc:Provider:blob:enc] keeps its provider name, a clear-text value becomes
    [iisguard:removed]), and no free-text directory attribute is ever requested.
    Usage: powershell -NoProfile -ExecutionPolicy Bypass -File capture.ps1 [-OutputPath DIR]
           [-NoZip] [-NoRecurse] [-SkipDuplicateSpnScan] [-Stream]
    Without -Stream it writes a folder (and DIR.zip); -Stream prints the capture stream instead,
    section by section as each one ends (stream version 2), so a run stopped by a deadline or by
    WinRM's MaxMemoryPerShellMB quota keeps its complete sections.
    -NoDelegation (the collector passes it when the logon cannot reach other machines: NTLM,
    Basic, certificate, Kerberos without delegation) marks AD, setspn and UNC content as not
    collected with the reason, instead of failing on each of them.
    In Constrained Language Mode (App Control / AppLocker) unsigned code cannot use .NET: the
    script says so and stops; run a signed copy with -File (iisguard collect --script-path).
    -AdOnly -ForHost NAME [-Accounts a,b]: only the directory part (ad, spns) for server NAME, run on
    any domain-joined machine whose logon reaches AD (an admin workstation); import its folder
    together with the server's: iisguard import SERVER-CAPTURE AD-CAPTURE -o SNAPSHOT.
#>
[CmdletBinding()]
param(
    [string]$OutputPath = '',
    [switch]$Stream,
    [switch]$NoZip,
    [switch]$NoRecurse,
    [switch]$SkipDuplicateSpnScan,
    [switch]$NoDelegation,
    [switch]$AdOnly,
    [string]$ForHost = '',
    [string[]]$Accounts = @()
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
#
# ---- Constrained Language Mode: nothing below works there, so say so plainly (only CLM-safe code here) ----
if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
    $mode = [string]$ExecutionContext.SessionState.LanguageMode
    $why = 'PowerShell runs in ' + $mode + ' mode (App Control or AppLocker), where unsigned code cannot use .NET: run a signed copy of the capture script with -File (iisguard collect HOST --script-path PATH)'
    if ($Stream) {
        $enc = $why -replace '%', '%25' -replace ' ', '%20'
        'IISGUARD-CAPTURE 2 host=' + ($env:COMPUTERNAME -replace '%', '%25' -replace ' ', '%20')
        'IISGUARD-HOST facts=' + ('{"session":{"language_mode":"' + $mode + '"}}')
        foreach ($name in @('iis', 'web_configs', 'acls', 'user_rights', 'tokens', 'local_accounts', 'services', 'registry', 'features', 'ad', 'spns')) {
            'IISGUARD-SECTION name=' + $name + ' status=failed message=' + $enc
        }
        'IISGUARD-DONE files=0'
    }
    else { Write-Warning $why }
    return
}
#
# ---- state shared by the sections (a hashtable: functions change its contents, not the variable) ----
$Capture = @{
    Root     = ''
    Host     = [string]$env:COMPUTERNAME
    Files    = New-Object System.Collections.ArrayList
    Sections = [ordered]@{}
    Facts    = [ordered]@{}
    Env      = [ordered]@{}
    Sites    = New-Object System.Collections.ArrayList
    Accounts = New-Object System.Collections.ArrayList
    Hosts    = New-Object System.Collections.ArrayList
    ConfigDir = ''
    Domain   = $false
    Session  = [ordered]@{}
    Emitted  = 0
    Sent     = 0
    Stop     = ''
    Lock     = $null
    Unreached = New-Object System.Collections.ArrayList
}
if ($AdOnly) {
    if (-not $ForHost) { throw '-AdOnly needs -ForHost NAME: the server whose directory facts to capture' }
    $Capture.Host = $ForHost
    foreach ($a in $Accounts) { foreach ($one in ([string]$a).Split(',')) { if ($one.Trim()) { [void]$Capture.Accounts.Add($one.Trim()) } } }
}
# What a logon without a delegated credential cannot reach (the second hop), said once per section.
$SecondHop = 'AD, setspn and UNC content need a delegated credential: use --transport kerberos --delegate, or credssp, or import AD data captured on a domain-joined admin workstation'
#
#
# ---- helpers --------------------------------------------------------------------------------------
function Get-SafeName([string]$Text) {
    # A file-name-safe form: characters Windows forbids in names are percent-encoded.
    $sb = New-Object System.Text.StringBuilder
    foreach ($ch in $Text.ToCharArray()) {
        if ('\/:*?"<>|%'.IndexOf($ch) -ge 0 -or [int]$ch -lt 32) { [void]$sb.Append(('%{0:X2}' -f [int]$ch)) }
        else { [void]$sb.Append($ch) }
    }
    return $sb.ToString()
}
function Set-Section([string]$Name, [string]$Status, [string]$Message) {
    # A worse status is never replaced by a better one.
    $order = @{ ok = 0; absent = 0; partial = 1; failed = 2 }
    if ($Capture.Sections.Contains($Name) -and $order[$Capture.Sections[$Name].status] -ge $order[$Status]) { return }
    $Capture.Sections[$Name] = [ordered]@{ name = $Name; status = $Status; message = $Message }
}
function Invoke-Section([string]$Name, [scriptblock]$Body) {
    if ($AdOnly -and $Name -ne 'ad' -and $Name -ne 'spns') { return }  # that server's own facts come from it
    if ($Capture.Stop) { Set-Section $Name 'failed' $Capture.Stop; Complete-Section $Name; return }
    try {
        & $Body
        Set-Section $Name 'ok' ''
    }
    catch {
        Set-Section $Name 'failed' ([string]$_.Exception.Message)
    }
    Complete-Section $Name
}
function Send-Line([string]$Text) {
    # Straight to standard output, flushed: the collector reads each section as soon as it ends.
    [Console]::Out.WriteLine($Text)
    [Console]::Out.Flush()
}
function ConvertTo-StreamValue([string]$Text) { return [Uri]::EscapeDataString($Text) }
function Send-CaptureFile([string]$Full, [string]$Rel, [string]$Kind, $Facts) {
    # Hashed in one pass and sent in a second, 57 KB at a time: a large listing never sits in memory.
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $fs = [System.IO.File]::OpenRead($Full)
    try { $hash = $sha.ComputeHash($fs); $length = $fs.Length }
    finally { $fs.Dispose() }
    $digest = ([System.BitConverter]::ToString($hash)).Replace('-', '').ToLowerInvariant()
    $factsJson = ''
    if ($null -ne $Facts -and $Facts.Count -gt 0) { $factsJson = ConvertTo-Json -InputObject $Facts -Compress -Depth 4 }
    Send-Line ('IISGUARD-FILE name={0} bytes={1} sha256={2} kind={3} facts={4}' -f (ConvertTo-StreamValue $Rel), $length, $digest, (ConvertTo-StreamValue $Kind), (ConvertTo-StreamValue $factsJson))
    $buffer = New-Object byte[] (57 * 1024)
    $fs = [System.IO.File]::OpenRead($Full)
    try {
        while ($true) {
            $n = 0
            while ($n -lt $buffer.Length) {
                $got = $fs.Read($buffer, $n, $buffer.Length - $n)
                if ($got -le 0) { break }
                $n += $got
            }
            if ($n -eq 0) { break }
            $b64 = [Convert]::ToBase64String($buffer, 0, $n)
            for ($i = 0; $i -lt $b64.Length; $i += 76) { Send-Line $b64.Substring($i, [Math]::Min(76, $b64.Length - $i)) }
            if ($n -lt $buffer.Length) { break }
        }
    }
    finally { $fs.Dispose() }
    Send-Line 'IISGUARD-END-FILE'
    $Capture.Sent += 1
}
function Complete-Section([string]$Name) {
    # With -Stream: the files this section wrote, then its SECTION line, which marks it complete.
    if (-not $Stream) { return }
    while ($Capture.Emitted -lt $Capture.Files.Count) {
        $entry = $Capture.Files[$Capture.Emitted]
        $Capture.Emitted += 1
        $facts = [ordered]@{}
        foreach ($key in @($entry.Keys)) { if ($key -ne 'path' -and $key -ne 'kind') { $facts[$key] = $entry[$key] } }
        $full = Join-Path $Capture.Root ($entry.path -replace '/', '\')
        if (-not (Test-Path -LiteralPath $full)) { continue }
        Send-CaptureFile $full $entry.path $entry.kind $facts
        Remove-Item -LiteralPath $full -Force -ErrorAction SilentlyContinue
    }
    if (-not $Name -or -not $Capture.Sections.Contains($Name)) { return }
    $sec = $Capture.Sections[$Name]
    if ($Name -eq 'host' -and $sec.status -eq 'ok') { return }
    Send-Line ('IISGUARD-SECTION name={0} status={1} message={2}' -f (ConvertTo-StreamValue $sec.name), $sec.status, (ConvertTo-StreamValue ([string]$sec.message)))
}
function Test-Unc([string]$Path) { return $Path.StartsWith('\\') }
function Get-DomainMembership { return [bool](Get-CimInstance -ClassName Win32_ComputerSystem).PartOfDomain }
function Add-CaptureFile([string]$Name, [string]$Kind, [hashtable]$Facts) {
    # Every file the script writes is named here, so capture.yaml lists it with its kind.
    $entry = [ordered]@{ path = $Name; kind = $Kind }
    if ($null -ne $Facts) { foreach ($key in $Facts.Keys) { $entry[$key] = $Facts[$key] } }
    [void]$Capture.Files.Add($entry)
}
function Get-CapturePath([string]$Name) {
    $path = Join-Path $Capture.Root ($Name -replace '/', '\')
    $dir = Split-Path -Parent $path
    if (-not (Test-Path -LiteralPath $dir)) { [void](New-Item -ItemType Directory -Path $dir -Force) }
    return $path
}
function Save-CaptureText([string]$Name, [string]$Kind, [AllowEmptyString()][string]$Text, [hashtable]$Facts = $null) {
    [System.IO.File]::WriteAllText((Get-CapturePath $Name), $Text, (New-Object System.Text.UTF8Encoding $true))
    Add-CaptureFile $Name $Kind $Facts
}
function Save-CaptureBytes([string]$Name, [string]$Kind, [byte[]]$Bytes, [hashtable]$Facts = $null) {
    [System.IO.File]::WriteAllBytes((Get-CapturePath $Name), $Bytes)
    Add-CaptureFile $Name $Kind $Facts
}
function Save-CommandOutput([string]$Name, [string]$Kind, [string]$Exe, [string[]]$Arguments, [hashtable]$Facts = $null) {
    # Native output (stdout and stderr) with the command echoed first, as a console shows it.
    # Stop would turn the first stderr line into a terminating error in Windows PowerShell.
    $ErrorActionPreference = 'Continue'
    $quoted = @($Arguments | ForEach-Object { if ($_ -match '\s') { '"' + $_ + '"' } else { $_ } })
    $lines = New-Object System.Collections.ArrayList
    [void]$lines.Add('PS C:\> ' + ($Exe -replace '\.exe$', '') + ' ' + ($quoted -join ' '))
    & $Exe @Arguments 2>&1 | ForEach-Object { [void]$lines.Add([string]$_) }
    $code = $LASTEXITCODE
    Save-CaptureText $Name $Kind ((@($lines) -join "`r`n") + "`r`n") $Facts
    return $code
}
function Save-Json([string]$Name, [string]$Kind, $Value, [hashtable]$Facts = $null) {
    $json = ConvertTo-Json -InputObject @($Value) -Depth 6
    Save-CaptureText $Name $Kind $json $Facts
}
function Protect-ConfigText([string]$Text) {
    # Secret values are replaced before anything is written: the parser only needs to know that
    # a secret is there, and how it is protected.
    $attr = '(?i)(\s(?:password|sessionKey|validationKey|decryptionKey)\s*=\s*)("[^"]*"|''[^'']*'')'
    $Text = [regex]::Replace($Text, $attr, {
            param($m)
            $raw = $m.Groups[2].Value
            $quote = $raw.Substring(0, 1)
            $value = $raw.Substring(1, $raw.Length - 2)
            if ($value -eq '') { return $m.Value }
            $enc = [regex]::Match($value, '^\[enc:([^:\]]*):')
            if ($enc.Success) { $new = '[enc:' + $enc.Groups[1].Value + ':removed-by-iisguard:enc]' }
            else { $new = '[iisguard:removed]' }
            return $m.Groups[1].Value + $quote + $new + $quote
        })
    $Text = [regex]::Replace($Text, '(?i)(connectionString\s*=\s*")([^"]*)(")', {
            param($m)
            $inner = [regex]::Replace($m.Groups[2].Value, '(?i)((?:^|;)\s*(?:password|pwd)\s*=\s*)([^;]*)', {
                    param($n)
                    if ($n.Groups[2].Value.Trim() -eq '') { return $n.Value }
                    return $n.Groups[1].Value + '[iisguard:removed]'
                })
            return $m.Groups[1].Value + $inner + $m.Groups[3].Value
        })
    return [regex]::Replace($Text, '(?is)(<CipherValue>)(.*?)(</CipherValue>)', '${1}removed-by-iisguard${3}')
}
function Save-ConfigFile([string]$Source, [string]$Name, [string]$Kind, [hashtable]$Facts = $null) {
    $text = [System.IO.File]::ReadAllText($Source)
    Save-CaptureText $Name $Kind (Protect-ConfigText $text) $Facts
    return $text
}
function Get-Attr($Node, [string]$Name) {
    if ($null -eq $Node) { return '' }
    return [string]$Node.GetAttribute($Name)
}
function Expand-Path([string]$Path) {
    if ([string]::IsNullOrEmpty($Path)) { return '' }
    return [Environment]::ExpandEnvironmentVariables($Path)
}
function Add-Account([string]$Name) {
    # Accounts worth an AD lookup: domain accounts (DOMAIN\name or name@domain), not built-ins.
    if ([string]::IsNullOrWhiteSpace($Name)) { return }
    $n = $Name.Trim()
    if ($n -match '^(?i)(iusr|nt authority\\.*|iis apppool\\.*|builtin\\.*|localsystem|networkservice|localservice)$') { return }
    if ($n -match '^(?<dom>[^\\]+)\\(?<sam>.+)$') {
        if ($Matches['dom'] -eq '.' -or $Matches['dom'] -ieq $env:COMPUTERNAME) { return }
        $sam = $Matches['sam']
    }
    elseif ($n -match '^(?<sam>[^@]+)@.+$') { $sam = $Matches['sam'] }
    else { return }
    if (-not ($Capture.Accounts -contains $sam)) { [void]$Capture.Accounts.Add($sam) }
}
function ConvertTo-Sid([byte[]]$Bytes) {
    return (New-Object System.Security.Principal.SecurityIdentifier($Bytes, 0)).Value
}
# Directory facts by allow-list: no free-text attribute is ever requested. LDAP returns only the
# attributes that have a value, so the manifest names what was asked (`ad_requested`): there an absent
# attribute is unset, where in a hand-pasted record it was simply not captured.
$AdAttributes = @('sAMAccountName', 'distinguishedName', 'objectClass', 'objectSid', 'userAccountControl',
    'servicePrincipalName', 'msDS-AllowedToDelegateTo', 'msDS-AllowedToActOnBehalfOfOtherIdentity',
    'msDS-SupportedEncryptionTypes', 'pwdLastSet', 'lastLogonTimestamp', 'adminCount', 'memberOf', 'dNSHostName', 'primaryGroupID')
function Get-AccountFacts([string]$Sam) {
    $props = $AdAttributes
    $searcher = New-Object System.DirectoryServices.DirectorySearcher
    $searcher.Filter = '(sAMAccountName=' + ($Sam -replace '([\\*()])', '\$1') + ')'
    $searcher.PropertiesToLoad.Clear()
    foreach ($p in $props) { [void]$searcher.PropertiesToLoad.Add($p) }
    $found = $searcher.FindOne()
    if ($null -eq $found) { return $null }
    $r = $found.Properties
    $out = [ordered]@{}
    foreach ($p in $props) {
        $key = $p.ToLowerInvariant()
        if (-not $r.Contains($key)) { continue }
        $values = @($r[$key])
        if ($p -eq 'objectSid') { $out['SID'] = ConvertTo-Sid ([byte[]]$values[0]); continue }
        if ($p -eq 'msDS-AllowedToActOnBehalfOfOtherIdentity') {
            $sd = New-Object System.Security.AccessControl.RawSecurityDescriptor(([byte[]]$values[0]), 0)
            $out[$p] = @($sd.DiscretionaryAcl | Where-Object { [string]$_.AceQualifier -eq 'AccessAllowed' } | ForEach-Object { $_.SecurityIdentifier.Value })
            continue
        }
        if ($p -in @('servicePrincipalName', 'memberOf', 'objectClass', 'msDS-AllowedToDelegateTo')) { $out[$p] = @($values | ForEach-Object { [string]$_ }) }
        else { $out[$p] = $values[0] }
    }
    try {
        $entry = New-Object System.DirectoryServices.DirectorySearcher(([adsi]('LDAP://' + $found.Properties['distinguishedname'][0])), '(objectClass=*)', @('tokenGroups'), 'Base')
        $tg = $entry.FindOne()
        if ($null -ne $tg -and $tg.Properties.Contains('tokengroups')) {
            $out['tokenGroups'] = @($tg.Properties['tokengroups'] | ForEach-Object { ConvertTo-Sid ([byte[]]$_) })
            # the same groups by name, in the same order ('' where a SID does not translate), so nested
            # membership of groups without a well-known SID (DnsAdmins) can be seen
            $out['tokenGroupNames'] = @($out['tokenGroups'] | ForEach-Object {
                    try { (New-Object System.Security.Principal.SecurityIdentifier($_)).Translate([System.Security.Principal.NTAccount]).Value }
                    catch { '' }
                })
        }
    }
    catch { $out['tokenGroupsError'] = [string]$_.Exception.Message }
    return [pscustomobject]$out
}
#
# ---- where to write ---------------------------------------------------------------------------------
$stamp = (Get-Date).ToUniversalTime()
# UTF-8 for native tools' output where the console allows it; the code page used is recorded.
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false; $OutputEncoding = [Console]::OutputEncoding } catch { $null = $_ }
if ($Stream) {
    # A run killed by a deadline or a quota leaves its temporary folder behind: remove those first.
    # A folder whose .lock is still held belongs to a run in progress and is left alone.
    $tmp = [System.IO.Path]::GetTempPath()
    foreach ($old in @(Get-ChildItem -LiteralPath $tmp -Filter 'iisguard-*' -Force -ErrorAction SilentlyContinue)) {
        try {
            $oldLock = Join-Path $old.FullName '.lock'
            if ($old.PSIsContainer -and (Test-Path -LiteralPath $oldLock)) {
                $probe = [System.IO.File]::Open($oldLock, 'Open', 'ReadWrite', 'None')
                $probe.Dispose()
            }
            elseif ($old.LastWriteTimeUtc -gt $stamp.AddHours(-1)) { continue }
            Remove-Item -LiteralPath $old.FullName -Recurse -Force -ErrorAction Stop
        }
        catch { $null = $_ }
    }
    $Capture.Root = Join-Path $tmp ('iisguard-' + [guid]::NewGuid().ToString('N'))
}
elseif ($OutputPath) { $Capture.Root = $OutputPath }
else { $Capture.Root = Join-Path (Get-Location).Path ('iisguard-capture-' + $Capture.Host + '-' + $stamp.ToString('yyyyMMddTHHmmssZ')) }
[void](New-Item -ItemType Directory -Path $Capture.Root -Force)
$Capture.Root = (Resolve-Path -LiteralPath $Capture.Root).Path
if ($Stream) {
    $Capture.Lock = [System.IO.File]::Open((Join-Path $Capture.Root '.lock'), 'CreateNew', 'ReadWrite', 'None')
    Send-Line ('IISGUARD-CAPTURE 2 host=' + (ConvertTo-StreamValue $Capture.Host))
}
try {
    #
    # ---- session: who runs this, how, and whether it can do its job ----------------------------------
    $id = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    $elevated = (New-Object System.Security.Principal.WindowsPrincipal($id)).IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
    $admins = $null
    try {
        $group = [adsi]('WinNT://./Administrators,group')
        $admins = [bool]$group.IsMember('WinNT://' + ($id.Name -replace '\\', '/'))
    }
    catch { $null = $_ }
    $edition = 'Desktop'
    if ($PSVersionTable.ContainsKey('PSEdition')) { $edition = [string]$PSVersionTable.PSEdition }
    $Capture.Session = [ordered]@{
        user           = [string]$id.Name
        elevated       = [bool]$elevated
        administrators = $admins
        ps_edition     = $edition
        ps_version     = [string]$PSVersionTable.PSVersion
        language_mode  = [string]$ExecutionContext.SessionState.LanguageMode
        os_build       = [string][Environment]::OSVersion.Version.Build
        code_page      = [int][Console]::OutputEncoding.CodePage
        oem_code_page  = [int][System.Globalization.CultureInfo]::CurrentCulture.TextInfo.OEMCodePage
        delegated      = (-not $NoDelegation)
    }
    if ($AdOnly) {
        # directory queries need no administrator; without a domain the ad and spns sections say absent
        try { $Capture.Domain = Get-DomainMembership } catch { $Capture.Domain = $false }
    }
    elseif (-not $elevated) {
        $Capture.Stop = 'not elevated: ' + $id.Name + ' runs without administrator rights here, so secedit, protected ACLs and the IIS configuration are unreadable; run from an elevated PowerShell (Run as administrator), or collect with an account in the Administrators group'
    }
    #
    # ---- host facts ----------------------------------------------------------------------------------
    Invoke-Section 'host' {
        $cs = Get-CimInstance -ClassName Win32_ComputerSystem
        $os = Get-CimInstance -ClassName Win32_OperatingSystem
        $Capture.Domain = [bool]$cs.PartOfDomain
        $Capture.Facts['domain_joined'] = [bool]$cs.PartOfDomain
        if ($cs.PartOfDomain) {
            $Capture.Facts['domain'] = [string]$cs.Domain
            $Capture.Facts['fqdn'] = ([string]$cs.DNSHostName + '.' + [string]$cs.Domain).ToLowerInvariant()
        }
        $Capture.Facts['is_domain_controller'] = ([int]$cs.DomainRole -ge 4)
        $Capture.Facts['os'] = [ordered]@{ version = [string]$os.Version; build = [string]$os.BuildNumber; caption = [string]$os.Caption }
        $inetstp = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\InetStp' -ErrorAction SilentlyContinue
        if ($null -ne $inetstp -and $inetstp.PSObject.Properties['MajorVersion']) {
            $Capture.Facts['iis'] = [ordered]@{ version = ('{0}.{1}' -f $inetstp.MajorVersion, $inetstp.MinorVersion); installed = $true }
        }
        foreach ($name in @('SystemDrive', 'SystemRoot', 'windir', 'ProgramData', 'ProgramFiles', 'ProgramFiles(x86)', 'ALLUSERSPROFILE')) {
            $value = [Environment]::GetEnvironmentVariable($name)
            if ($value) { $Capture.Env[$name] = $value }
        }
    }
    if ($Stream) {
        $head = [ordered]@{ host_facts = $Capture.Facts; environment = $Capture.Env; session = $Capture.Session }
        Send-Line ('IISGUARD-HOST facts=' + (ConvertTo-StreamValue (ConvertTo-Json -InputObject $head -Compress -Depth 6)))
    }
    #
    # ---- iis: the configuration files, secrets replaced ---------------------------------------------
    Invoke-Section 'iis' {
        $system = Join-Path $env:windir 'System32'
        if ([Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess) { $system = Join-Path $env:windir 'Sysnative' }
        $Capture.ConfigDir = Join-Path $system 'inetsrv\config'
        $apphost = Join-Path $Capture.ConfigDir 'applicationHost.config'
        if (-not (Test-Path -LiteralPath $apphost)) {
            Set-Section 'iis' 'absent' 'IIS is not installed (no applicationHost.config)'
            return
        }
        foreach ($extra in @(@('administration.config', 'administration_config'), @('redirection.config', 'redirection_config'))) {
            $path = Join-Path $Capture.ConfigDir $extra[0]
            if (Test-Path -LiteralPath $path) { [void](Save-ConfigFile $path ('iis/' + $extra[0]) $extra[1]) }
        }
        # ---- [i13] shared configuration (begin) ----
        # With shared configuration on (redirection.config), IIS reads applicationHost.config from the
        # folder named there, usually a UNC share, and ignores the local copy. Reading the share needs a
        # credential this logon can pass on (the second hop); when it cannot be read the section fails
        # with the reason - the local copy is never captured as if it were the configuration IIS uses.
        $configFile = $apphost
        $configName = 'iis/applicationHost.config'
        $redirect = Join-Path $Capture.ConfigDir 'redirection.config'
        if (Test-Path -LiteralPath $redirect) {
            $rdoc = New-Object System.Xml.XmlDocument
            $rdoc.XmlResolver = $null
            $rdoc.Load($redirect)
            $node = $rdoc.SelectSingleNode('//configurationRedirection')
            if ($null -ne $node -and (Get-Attr $node 'enabled') -eq 'true' -and (Get-Attr $node 'path')) {
                $sharedDir = Expand-Path (Get-Attr $node 'path')
                $configFile = Join-Path $sharedDir 'applicationHost.config'
                $configName = 'iis/shared/applicationHost.config'
                if ((Test-Unc $sharedDir) -and $NoDelegation) {
                    throw ('shared configuration on ' + $sharedDir + ' not read: ' + $SecondHop + '; the local applicationHost.config is not the one IIS uses')
                }
                if (-not (Test-Path -LiteralPath $configFile)) {
                    $why = 'could not be reached'
                    if (Test-Unc $sharedDir) { $why += ' (a share needs a delegated credential or access for this account)' }
                    throw ('shared configuration ' + $configFile + ' ' + $why + '; the local applicationHost.config is not the one IIS uses')
                }
            }
        }
        $text = Save-ConfigFile $configFile $configName 'applicationhost_config'
        # ---- [i13] shared configuration (end) ----
        $doc = New-Object System.Xml.XmlDocument
        $doc.XmlResolver = $null
        $doc.LoadXml($text)
        foreach ($site in @($doc.SelectNodes('/configuration/system.applicationHost/sites/site'))) {
            $info = [ordered]@{ name = (Get-Attr $site 'name'); id = (Get-Attr $site 'id'); apps = New-Object System.Collections.ArrayList; log = '' }
            $log = $site.SelectSingleNode('logFile')
            if ($null -eq $log) { $log = $doc.SelectSingleNode('/configuration/system.applicationHost/sites/siteDefaults/logFile') }
            $info.log = Get-Attr $log 'directory'
            if (-not $info.log) { $info.log = '%SystemDrive%\inetpub\logs\LogFiles' }
            foreach ($app in @($site.SelectNodes('application'))) {
                $dirs = New-Object System.Collections.ArrayList
                foreach ($vd in @($app.SelectNodes('virtualDirectory'))) {
                    [void]$dirs.Add([ordered]@{ path = (Get-Attr $vd 'path'); physical = (Expand-Path (Get-Attr $vd 'physicalPath')) })
                    Add-Account (Get-Attr $vd 'userName')
                }
                [void]$info.apps.Add([ordered]@{ path = (Get-Attr $app 'path'); dirs = $dirs })
            }
            foreach ($binding in @($site.SelectNodes('bindings/binding'))) {
                $parts = (Get-Attr $binding 'bindingInformation').Split(':')
                if ($parts.Length -ge 3 -and $parts[-1] -and $parts[-1] -ne '*' -and -not ($Capture.Hosts -contains $parts[-1])) { [void]$Capture.Hosts.Add($parts[-1]) }
            }
            [void]$Capture.Sites.Add($info)
        }
        foreach ($pm in @($doc.SelectNodes('//processModel[@identityType="SpecificUser"]'))) { Add-Account (Get-Attr $pm 'userName') }
        foreach ($anon in @($doc.SelectNodes('//anonymousAuthentication[@userName]'))) { Add-Account (Get-Attr $anon 'userName') }
    }
    #
    # ---- web_configs: each application root's web.config, secrets replaced -----------------------------
    Invoke-Section 'web_configs' {
        foreach ($site in $Capture.Sites) {
            foreach ($app in $site.apps) {
                $root = @($app.dirs | Where-Object { $_.path -eq '/' })
                if ($root.Count -eq 0 -or -not $root[0].physical) { continue }
                $file = Join-Path $root[0].physical 'web.config'
                try {
                    if ((Test-Unc $file) -and $NoDelegation) {
                        Set-Section 'web_configs' 'partial' ('not read (UNC content): ' + $file + '; ' + $SecondHop)
                        continue
                    }
                    if (-not (Test-Path -LiteralPath $file)) {
                        if (Test-Unc $file) { Set-Section 'web_configs' 'partial' ('could not reach ' + $file + ' (a share needs a delegated credential or access for this account)') }
                        continue
                    }
                    $location = ($site.name + $app.path).TrimEnd('/')
                    $segments = @($site.name) + @($app.path.Split('/') | Where-Object { $_ })
                    $name = 'webconfig/' + ((@($segments | ForEach-Object { Get-SafeName $_ })) -join '/') + '/web.config'
                    [void](Save-ConfigFile $file $name 'web_config' @{ location = $location })
                }
                catch { Set-Section 'web_configs' 'partial' ([string]$_.Exception.Message) }
            }
        }
    }
    #
    # ---- acls: icacls of every physical path, the content roots recursively, and IIS's own folders ------
    Invoke-Section 'acls' {
        $drive = [string]$env:SystemDrive
        $inetsrv = Split-Path -Parent $Capture.ConfigDir
        $targets = New-Object System.Collections.ArrayList
        foreach ($p in @("$drive\inetpub", "$drive\inetpub\wwwroot", "$drive\inetpub\logs", "$drive\inetpub\logs\LogFiles",
                "$drive\inetpub\logs\FailedReqLogFiles", "$drive\inetpub\temp", "$drive\inetpub\temp\IIS Temporary Compressed Files",
                "$inetsrv", "$($Capture.ConfigDir)", "$($Capture.ConfigDir)\applicationHost.config",
                "$($Capture.ConfigDir)\administration.config", "$($Capture.ConfigDir)\redirection.config", "$($Capture.ConfigDir)\schema",
                "$inetsrv\InetMgr.exe", "$inetsrv\appcmd.exe",
                "$env:windir\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files",
                "$env:windir\Microsoft.NET\Framework\v4.0.30319\Temporary ASP.NET Files")) {
            [void]$targets.Add(@($p, $false))
        }
        [void]$targets.Add(@("$drive\inetpub\temp\appPools", $true))
        foreach ($site in $Capture.Sites) {
            [void]$targets.Add(@((Expand-Path $site.log), $false))
            foreach ($app in $site.apps) {
                foreach ($dir in $app.dirs) {
                    if ($dir.physical) { [void]$targets.Add(@($dir.physical, (-not $NoRecurse -and $dir.path -eq '/' -and $app.path -eq '/'))) }
                }
            }
        }
        $seen = @{}
        $n = 0
        foreach ($t in $targets) {
            $path = [string]$t[0]
            if (-not $path -or $seen.ContainsKey($path.ToLowerInvariant())) { continue }
            $seen[$path.ToLowerInvariant()] = $true
            if ((Test-Unc $path) -and $NoDelegation) { [void]$Capture.Unreached.Add($path); continue }
            if (-not (Test-Path -LiteralPath $path)) {
                if (Test-Unc $path) { [void]$Capture.Unreached.Add($path) }
                continue
            }
            $n++
            $name = 'acls/{0:D3}-{1}.txt' -f $n, (Get-SafeName (Split-Path -Leaf $path))
            try {
                if ($t[1]) {
                    # Recursive: icacls writes SDDL (SIDs, no code page) to a file itself, so the listing
                    # never passes through PowerShell's memory (MaxMemoryPerShellMB counts it).
                    $name = $name -replace '\.txt$', '.sddl'
                    $ErrorActionPreference = 'Continue'
                    $out = & icacls.exe $path /save (Get-CapturePath $name) /T /C 2>&1 | Select-Object -Last 3
                    $code = $LASTEXITCODE
                    $ErrorActionPreference = 'Stop'
                    $parent = Split-Path -Parent $path
                    if (-not $parent) { $parent = $path }
                    Add-CaptureFile $name 'sddl' @{ acl_path = $path; acl_base = $parent }
                    if ($code -ne 0) { Set-Section 'acls' 'partial' ('icacls /save exited with code ' + $code + ' for ' + $path + ': ' + ((@($out) | ForEach-Object { [string]$_ }) -join ' ')) }
                }
                else {
                    $code = Save-CommandOutput $name 'icacls' 'icacls.exe' @($path) @{ acl_path = $path }
                    if ($code -ne 0) { Set-Section 'acls' 'partial' ('icacls exited with code ' + $code + ' for ' + $path) }
                }
            }
            catch { Set-Section 'acls' 'partial' ([string]$_.Exception.Message) }
        }
        # the configuration encryption keys (CryptoAPI and CNG machine key containers), file by file
        foreach ($keys in @("$env:ProgramData\Microsoft\Crypto\RSA\MachineKeys", "$env:ProgramData\Microsoft\Crypto\Keys")) {
            if (-not (Test-Path -LiteralPath $keys)) { continue }
            $n++
            try { [void](Save-CommandOutput ('acls/{0:D3}-{1}.txt' -f $n, (Split-Path -Leaf $keys)) 'icacls' 'icacls.exe' @("$keys\*", '/C')) }
            catch { Set-Section 'acls' 'partial' ([string]$_.Exception.Message) }
        }
        if ($Capture.Unreached.Count -gt 0) {
            $why = 'could not be reached (a share needs a delegated credential or access for this account)'
            if ($NoDelegation) { $why = 'not read: ' + $SecondHop }
            Set-Section 'acls' 'partial' ('UNC content ' + (@($Capture.Unreached) -join ', ') + ' ' + $why)
        }
    }
    #
    # ---- user_rights: secedit export of the user rights assignments -------------------------------------
    Invoke-Section 'user_rights' {
        $inf = Join-Path ([System.IO.Path]::GetTempPath()) ('iisguard-' + [guid]::NewGuid().ToString('N') + '.inf')
        try {
            $ErrorActionPreference = 'Continue'
            $output = & secedit.exe /export /cfg $inf /areas USER_RIGHTS /quiet 2>&1
            if ($LASTEXITCODE -ne 0 -or -not (Test-Path -LiteralPath $inf)) {
                throw ('secedit /export failed (exit code ' + $LASTEXITCODE + '): ' + ((@($output) | ForEach-Object { [string]$_ }) -join ' '))
            }
            Save-CaptureBytes 'user_rights/secedit-user-rights.inf' 'secedit' ([System.IO.File]::ReadAllBytes($inf))
        }
        finally { Remove-Item -LiteralPath $inf -Force -ErrorAction SilentlyContinue }
    }
    #
    # ---- tokens: whoami /all of the account running this script ----------------------------------------
    Invoke-Section 'tokens' {
        $me = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
        $code = Save-CommandOutput 'tokens/whoami-all.txt' 'whoami' 'whoami.exe' @('/all') @{ token = $me }
        if ($code -ne 0) { Set-Section 'tokens' 'partial' ('whoami exited with code ' + $code) }
    }
    #
    # ---- local_accounts: local users and every local group with its members -----------------------------
    Invoke-Section 'local_accounts' {
        [void](Save-CommandOutput 'local_accounts/net-user.txt' 'local_accounts' 'net.exe' @('user'))
        # The list of every local group: without it a group the capture lacks is unknown, not absent.
        [void](Save-CommandOutput 'local_accounts/net-localgroup.txt' 'local_accounts' 'net.exe' @('localgroup'))
        # ---- [i13] local group membership by SID (begin) ----
        # net localgroup prints names in the display language and the OEM code page, so a member of
        # "Yoneticiler" cannot be told from its text on every system. Members are read with their SIDs:
        # Get-LocalGroupMember (PowerShell 5.1+), else ADSI's WinNT provider (objectSid of each member:
        # Get-LocalGroupMember fails on a group that holds an orphaned SID, PowerShell#2996), and net
        # localgroup text only when both fail. The session records which were used (local_groups_source).
        $records = New-Object System.Collections.ArrayList
        $used = New-Object System.Collections.ArrayList
        foreach ($g in @(Get-CimInstance -ClassName Win32_Group -Filter 'LocalAccount=True')) {
            $group = [string]$g.Name
            $members = $null
            $source = 'Get-LocalGroupMember'
            if (Get-Command -Name Get-LocalGroupMember -ErrorAction SilentlyContinue) {
                try {
                    $members = @(Get-LocalGroupMember -SID ([string]$g.SID) -ErrorAction Stop | ForEach-Object {
                            [ordered]@{ Name = [string]$_.Name; SID = [string]$_.SID.Value; ObjectClass = [string]$_.ObjectClass; PrincipalSource = [string]$_.PrincipalSource }
                        })
                }
                catch { $members = $null }
            }
            if ($null -eq $members) {
                $source = 'adsi'
                try {
                    $members = @(([adsi]('WinNT://./' + $group + ',group')).Invoke('Members') | ForEach-Object {
                            $m = [adsi]$_
                            $sid = ConvertTo-Sid ([byte[]]$m.InvokeGet('objectSid'))
                            $label = $sid
                            try { $label = (New-Object System.Security.Principal.SecurityIdentifier($sid)).Translate([System.Security.Principal.NTAccount]).Value } catch { $null = $_ }
                            [ordered]@{ Name = $label; SID = $sid; ObjectClass = [string]$m.SchemaClassName }
                        })
                }
                catch { $members = $null }
            }
            if ($null -eq $members) {
                $source = 'net localgroup'
                try {
                    $code = Save-CommandOutput ('local_accounts/net-localgroup-' + (Get-SafeName $group) + '.txt') 'local_accounts' 'net.exe' @('localgroup', $group) @{ group = $group }
                    if ($code -ne 0) { Set-Section 'local_accounts' 'partial' ('net localgroup exited with code ' + $code + ' for ' + $group) }
                }
                catch { Set-Section 'local_accounts' 'partial' ([string]$_.Exception.Message) }
            }
            else { [void]$records.Add([ordered]@{ Name = $group; SID = [string]$g.SID; Members = @($members) }) }
            if (-not ($used -contains $source)) { [void]$used.Add($source) }
        }
        if ($records.Count -gt 0) { Save-Json 'local_accounts/local-groups.json' 'local_accounts' $records }
        $Capture.Session['local_groups_source'] = ((@($used) | Sort-Object) -join ', ')
        # ---- [i13] local group membership by SID (end) ----
        if (Get-Command -Name Get-LocalUser -ErrorAction SilentlyContinue) {
            $users = @(Get-LocalUser | ForEach-Object {
                    [ordered]@{ Name = [string]$_.Name; SID = [string]$_.SID.Value; Enabled = [bool]$_.Enabled
                        PasswordRequired = [bool]$_.PasswordRequired; PasswordExpires = $_.PasswordExpires
                        PasswordLastSet = $_.PasswordLastSet; LastLogon = $_.LastLogon; PrincipalSource = [string]$_.PrincipalSource }
                })
            Save-Json 'local_accounts/local-users.json' 'local_accounts' $users
        }
    }
    #
    # ---- services: the account each service runs as ----------------------------------------------------
    Invoke-Section 'services' {
        $services = @(Get-CimInstance -ClassName Win32_Service | ForEach-Object {
                [ordered]@{ Name = [string]$_.Name; StartName = [string]$_.StartName; State = [string]$_.State; StartMode = [string]$_.StartMode }
            })
        Save-Json 'services/services.json' 'services' $services
    }
    #
    # ---- registry and features (issue #19): what applicationHost.config does not hold ------------------
    # SCHANNEL protocols/ciphers/hashes/key exchanges, the cipher suite order policy, .NET strong crypto
    # (64-bit and WOW6432Node views, v4 and v2), HTTP.sys parameters, the Web Management Service and the
    # indexing catalogs, with reg.exe (its output is not localized but for the default value's name and
    # the "not found" line, which the parser knows); a key that does not exist prints an error and exit
    # code 1, which is an answer (read, absent), not a failure. No value read here holds a secret.
    Invoke-Section 'registry' {
        $n = 0
        foreach ($q in @(
                @('HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL', $true),
                @('HKLM\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002', $false),
                @('HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319', $false),
                @('HKLM\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319', $false),
                @('HKLM\SOFTWARE\Microsoft\.NETFramework\v2.0.50727', $false),
                @('HKLM\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v2.0.50727', $false),
                @('HKLM\SYSTEM\CurrentControlSet\Services\HTTP\Parameters', $false),
                @('HKLM\SOFTWARE\Microsoft\WebManagement\Server', $false),
                @('HKLM\SYSTEM\CurrentControlSet\Control\ContentIndex\Catalogs', $true))) {
            $n++
            $arguments = @('query', [string]$q[0])
            if ($q[1]) { $arguments += '/s' }
            $name = 'registry/{0:D2}-{1}.txt' -f $n, (Get-SafeName (Split-Path -Leaf ([string]$q[0])))
            try {
                $code = Save-CommandOutput $name 'registry' 'reg.exe' $arguments
                if ($code -ne 0 -and $code -ne 1) { Set-Section 'registry' 'partial' ('reg query exited with code ' + $code + ' for ' + $q[0]) }
            }
            catch { Set-Section 'registry' 'partial' ([string]$_.Exception.Message) }
        }
    }
    Invoke-Section 'features' {
        # Server: Get-WindowsFeature (ServerManager); client SKUs: Get-WindowsOptionalFeature (DISM).
        if (Get-Command -Name Get-WindowsFeature -ErrorAction SilentlyContinue) {
            $text = (Get-WindowsFeature | Out-String -Width 4096)
            Save-CaptureText 'features/windows-features.txt' 'windows_features' ("PS C:\> Get-WindowsFeature`r`n" + $text)
        }
        elseif (Get-Command -Name Get-WindowsOptionalFeature -ErrorAction SilentlyContinue) {
            $text = (Get-WindowsOptionalFeature -Online | Format-List -Property @('FeatureName', 'State') | Out-String -Width 4096)
            Save-CaptureText 'features/windows-optional-features.txt' 'windows_features' ("PS C:\> Get-WindowsOptionalFeature -Online`r`n" + $text)
        }
        else { Set-Section 'features' 'failed' 'neither Get-WindowsFeature nor Get-WindowsOptionalFeature is available' }
    }
    # ---- end of registry and features --------------------------------------------------------------
    #
    # ---- ad, spns, principals: directory facts for each identity, and SPN queries (domain members only) ---
    if (-not $Capture.Domain) {
        foreach ($name in @('ad', 'spns')) { Set-Section $name 'absent' 'the server is not joined to a domain'; Complete-Section $name }
    }
    elseif ($NoDelegation) {
        $how = ' (on a domain-joined admin workstation: capture.ps1 -AdOnly -ForHost ' + $Capture.Host
        if ($Capture.Accounts.Count -gt 0) { $how += ' -Accounts ' + (@($Capture.Accounts) -join ',') }
        foreach ($name in @('ad', 'spns')) { Set-Section $name 'failed' ('not collected: ' + $SecondHop + $how + ')'); Complete-Section $name }
    }
    else {
        Invoke-Section 'ad' {
            $netbios = ''
            try {
                $rootDse = [adsi]'LDAP://RootDSE'
                $nc = [string]$rootDse.Properties['defaultNamingContext'][0]
                $cfg = [string]$rootDse.Properties['configurationNamingContext'][0]
                $part = New-Object System.DirectoryServices.DirectorySearcher(([adsi]('LDAP://CN=Partitions,' + $cfg)), ('(&(objectClass=crossRef)(nCName=' + $nc + '))'), @('nETBIOSName', 'dnsRoot'))
                $hit = $part.FindOne()
                if ($null -ne $hit) {
                    $netbios = [string]$hit.Properties['netbiosname'][0]
                    Save-Json 'ad/domain.json' 'ad' ([ordered]@{ NetBIOSName = $netbios; DNSRoot = [string]$hit.Properties['dnsroot'][0] })
                }
            }
            catch { Set-Section 'ad' 'partial' ('domain name lookup: ' + [string]$_.Exception.Message) }
            $facts = @{ ad_requested = ($AdAttributes -join ',') }
            if ($netbios) { $facts['netbios_domain'] = $netbios }
            $accounts = @($Capture.Host + '$') + @($Capture.Accounts)
            foreach ($sam in $accounts) {
                try {
                    $record = Get-AccountFacts $sam
                    if ($null -eq $record) { Set-Section 'ad' 'partial' ('account not found: ' + $sam); continue }
                    Save-Json ('ad/account-' + (Get-SafeName $sam) + '.json') 'ad' $record $facts
                }
                catch { Set-Section 'ad' 'partial' ($sam + ': ' + [string]$_.Exception.Message) }
            }
            try {
                if (Get-Module -ListAvailable -Name ActiveDirectory) {
                    Import-Module ActiveDirectory -ErrorAction Stop
                    $dcs = @(Get-ADDomainController -Filter * | ForEach-Object {
                            [ordered]@{ Name = [string]$_.Name; HostName = [string]$_.HostName; IsGlobalCatalog = [bool]$_.IsGlobalCatalog; IsReadOnly = [bool]$_.IsReadOnly }
                        })
                }
                else {
                    $dcs = @([System.DirectoryServices.ActiveDirectory.Domain]::GetComputerDomain().DomainControllers | ForEach-Object {
                            [ordered]@{ Name = ([string]$_.Name).Split('.')[0]; HostName = [string]$_.Name; IsGlobalCatalog = [bool]$_.IsGlobalCatalog(); IsReadOnly = $false }
                        })
                }
                Save-Json 'ad/domain-controllers.json' 'ad' $dcs $facts
                # each DC's own account: its msDS-AllowedToActOnBehalfOfOtherIdentity tells whether the web
                # server (or a pool account) may act on behalf of any user to the DC
                foreach ($dc in $dcs) {
                    try {
                        $record = Get-AccountFacts ([string]$dc.Name + '$')
                        if ($null -eq $record) { Set-Section 'ad' 'partial' ('account not found: ' + $dc.Name + '$'); continue }
                        Save-Json ('ad/dc-' + (Get-SafeName ([string]$dc.Name)) + '.json') 'ad' $record $facts
                    }
                    catch { Set-Section 'ad' 'partial' ('domain controller ' + $dc.Name + ': ' + [string]$_.Exception.Message) }
                }
            }
            catch { Set-Section 'ad' 'partial' ('domain controllers: ' + [string]$_.Exception.Message) }
        }
        Invoke-Section 'spns' {
            $names = New-Object System.Collections.ArrayList
            foreach ($h in @($Capture.Hosts) + @($Capture.Host) + @([string]$Capture.Facts['fqdn'])) {
                if ($h -and -not ($names -contains $h)) { [void]$names.Add($h) }
            }
            $n = 0
            foreach ($h in $names) {
                $n++
                $spn = 'HTTP/' + $h
                $code = Save-CommandOutput ('spns/{0:D3}-query-{1}.txt' -f $n, (Get-SafeName $h)) 'setspn' 'setspn.exe' @('-Q', $spn) @{ spn_query = $spn }
                if ($code -ne 0 -and $code -ne 1) { Set-Section 'spns' 'partial' ('setspn -Q exited with code ' + $code + ' for ' + $spn) }
            }
            foreach ($sam in @($Capture.Host + '$') + @($Capture.Accounts)) {
                $code = Save-CommandOutput ('spns/list-' + (Get-SafeName $sam) + '.txt') 'setspn' 'setspn.exe' @('-L', $sam)
                if ($code -ne 0) { Set-Section 'spns' 'partial' ('setspn -L exited with code ' + $code + ' for ' + $sam) }
            }
            if (-not $SkipDuplicateSpnScan) {
                $code = Save-CommandOutput 'spns/duplicates.txt' 'setspn' 'setspn.exe' @('-X')
                if ($code -ne 0) { Set-Section 'spns' 'partial' ('setspn -X exited with code ' + $code) }
            }
        }
    }
    #
    # ---- the manifest, then the zip or the stream ----------------------------------------------------
    $manifest = [ordered]@{
        host         = $Capture.Host
        collected_at = $stamp.ToString('yyyy-MM-ddTHH:mm:ssZ')
        tool         = 'iisguard capture script 1'
        host_facts   = $Capture.Facts
        environment  = $Capture.Env
        files        = @($Capture.Files)
        sections     = @($Capture.Sections.Values | Where-Object { $_.name -ne 'host' })
        session      = $Capture.Session
    }
    if ($Capture.Sections.Contains('host') -and $Capture.Sections['host'].status -ne 'ok') {
        $manifest.sections += $Capture.Sections['host']
    }
    # capture.yaml is JSON, which is YAML too: no YAML module is needed here.
    [System.IO.File]::WriteAllText((Join-Path $Capture.Root 'capture.yaml'), (ConvertTo-Json -InputObject $manifest -Depth 6), (New-Object System.Text.UTF8Encoding $false))
    if ($Stream) {
        Complete-Section ''
        Send-CaptureFile (Join-Path $Capture.Root 'capture.yaml') 'capture.yaml' '' $null
        Send-Line ('IISGUARD-DONE files=' + $Capture.Sent)
    }
    elseif (-not $NoZip) {
        try {
            Add-Type -AssemblyName System.IO.Compression.FileSystem
            $zip = $Capture.Root.TrimEnd('\') + '.zip'
            if (Test-Path -LiteralPath $zip) { Remove-Item -LiteralPath $zip -Force }
            [System.IO.Compression.ZipFile]::CreateFromDirectory($Capture.Root, $zip)
            Write-Host ('iisguard: capture written to ' + $Capture.Root + ' and ' + $zip)
        }
        catch { Write-Host ('iisguard: capture written to ' + $Capture.Root + ' (no zip: ' + $_.Exception.Message + ')') }
    }
    else { Write-Host ('iisguard: capture written to ' + $Capture.Root) }
}
finally {
    if ($null -ne $Capture.Lock) { $Capture.Lock.Dispose() }
    if ($Stream) { Remove-Item -LiteralPath $Capture.Root -Recurse -Force -ErrorAction SilentlyContinue }
}
