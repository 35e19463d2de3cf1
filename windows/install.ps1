<#
.SYNOPSIS
    Installs the credsync password filter on this writable domain controller.

.DESCRIPTION
    With -ServerHost, -ForwarderId, -Token and -BaseDn it also installs the forwarder
    (credsync-forwarder.exe) as the Windows service "credsync-forwarder" (LocalSystem, started
    automatically at boot, restarted by the service control manager if it fails), which sends
    the spooled records to the credsync server.

    Copies credsyncfilter.dll to System32, writes its configuration to
    HKLM:\SOFTWARE\credsync\PasswordFilter, makes the spool directory (SYSTEM only: the filter
    in lsass writes it, the forwarder service reads it, both as SYSTEM), registers the event
    log sources "credsync-filter" and "credsync-forwarder" (Application log), and adds "credsyncfilter" to the LSA "Notification Packages". lsass
    loads notification packages at boot only: the filter captures nothing until this DC is
    restarted. Run it on EVERY writable DC of the domain (a password change is notified only on
    the DC where it is made). Needs an elevated PowerShell (Administrators on the DC).

    RecipientKey is the directory's capture key as the filter needs it: 64 hex digits, the raw
    X25519 public key of the key's encryption subkey. Get it from the vault:
        credsync capture key DIRECTORY --json      (field "x25519_public_hex")

.EXAMPLE
    .\install.ps1 -RecipientKey 5f0e...c1 -Domain CONTOSO -ServerHost vault.example.com `
        -ForwarderId 0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11 -Token csf1.0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11.<key> `
        -BaseDn 'OU=Staff,DC=contoso,DC=com'
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[0-9a-fA-F]{64}$')][string]$RecipientKey,
    [Parameter(Mandatory = $true)][ValidateLength(1, 256)][string]$Domain,
    [string]$SpoolDirectory = (Join-Path $env:ProgramData 'credsync\spool'),
    [string]$DllPath = (Join-Path $PSScriptRoot 'credsyncfilter.dll'),
    [ValidateRange(1, 10000000)][int]$MaxSpoolFiles = 100000,
    # The forwarder (optional here; all four together): the credsync server (or agent) it sends
    # to, and the forwarder's id and token from `credsync capture enroll DIRECTORY --json`.
    [string]$ServerHost,
    [ValidateRange(1, 65535)][int]$ServerPort = 443,
    [ValidatePattern('^[0-9a-f-]{36}$')][string]$ForwarderId,
    [string]$Token,
    [string]$BaseDn,
    [string]$ForwarderPath = (Join-Path $PSScriptRoot 'credsync-forwarder.exe')
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$package = 'credsyncfilter'
$lsaKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa'
$configKey = 'HKLM:\SOFTWARE\credsync\PasswordFilter'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'Run this from an elevated PowerShell (Administrators).'
}
$role = (Get-CimInstance Win32_ComputerSystem).DomainRole
if ($role -lt 4) {
    throw "This machine is not a domain controller (DomainRole $role): the filter belongs on every writable DC."
}
if (-not (Test-Path -LiteralPath $DllPath -PathType Leaf)) {
    throw "credsyncfilter.dll not found at $DllPath (build it with scripts/build-windows, or pass -DllPath)."
}
if ([Environment]::Is64BitOperatingSystem -eq $false) {
    throw 'The filter is built for x86_64 Windows only.'
}

# LSA protection: a protected lsass (RunAsPPL) loads only packages Microsoft has signed.
$ppl = (Get-ItemProperty -Path $lsaKey -Name RunAsPPL -ErrorAction SilentlyContinue)
if ($ppl -and $ppl.RunAsPPL -ne 0) {
    Write-Warning ('LSA protection (RunAsPPL) is on: lsass will NOT load credsyncfilter.dll unless it is ' +
        'signed through Microsoft''s LSA file-signing process. Nothing will be captured on this DC; see ' +
        'the README, "Capture on a Windows DC".')
}

# 1. The spool directory: SYSTEM only (owner and the one ACE), inheritance off. Administrators
#    can still take ownership (uninstall.ps1 -RemoveSpool does), but reading the spool, even
#    only its ciphertext, is not something an administrator's everyday session does.
if ($PSCmdlet.ShouldProcess($SpoolDirectory, 'create the spool directory')) {
    New-Item -ItemType Directory -Force -Path $SpoolDirectory | Out-Null
    $acl = New-Object System.Security.AccessControl.DirectorySecurity
    $acl.SetAccessRuleProtection($true, $false)
    $system = New-Object System.Security.Principal.SecurityIdentifier('S-1-5-18')   # LocalSystem
    $acl.SetOwner($system)
    $rule = New-Object System.Security.AccessControl.FileSystemAccessRule(
        $system, 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow')
    $acl.AddAccessRule($rule)
    Set-Acl -LiteralPath $SpoolDirectory -AclObject $acl
}

# 2. The DLL, in System32 (lsass loads notification packages from there by name).
$target = Join-Path $env:SystemRoot "System32\$package.dll"
if ($PSCmdlet.ShouldProcess($target, 'copy the filter DLL')) {
    Copy-Item -LiteralPath $DllPath -Destination $target -Force
}

# 3. Its configuration (read once, when lsass loads it).
if ($PSCmdlet.ShouldProcess($configKey, 'write the configuration')) {
    New-Item -Path $configKey -Force | Out-Null
    Set-ItemProperty -Path $configKey -Name SpoolDirectory -Value $SpoolDirectory -Type String
    Set-ItemProperty -Path $configKey -Name RecipientKey -Value $RecipientKey.ToLowerInvariant() -Type String
    Set-ItemProperty -Path $configKey -Name Domain -Value $Domain -Type String
    Set-ItemProperty -Path $configKey -Name MaxSpoolFiles -Value $MaxSpoolFiles -Type DWord
}

# 4. The LSA notification package list (REG_MULTI_SZ), ours added once, the others kept.
$packages = @((Get-ItemProperty -Path $lsaKey -Name 'Notification Packages' -ErrorAction SilentlyContinue).'Notification Packages')
$packages = @($packages | Where-Object { $_ })
if ($packages -notcontains $package) {
    if ($PSCmdlet.ShouldProcess($lsaKey, "add $package to Notification Packages")) {
        Set-ItemProperty -Path $lsaKey -Name 'Notification Packages' -Value ([string[]]($packages + $package)) -Type MultiString
    }
}

# Event sources for the filter's messages (bad configuration, spool full) and the forwarder's
# (started, stopped, not delivered, records moved to rejected). New-EventLog registers .NET's
# EventLogMessages.dll as their message file: its text for every event id is the string the
# program reported (never a password, the token or a record).
foreach ($source in 'credsync-filter', 'credsync-forwarder') {
    if (-not [System.Diagnostics.EventLog]::SourceExists($source)) {
        if ($PSCmdlet.ShouldProcess($source, 'register the event log source')) {
            New-EventLog -LogName Application -Source $source
        }
    }
}

# 5. The forwarder: its configuration (it holds the token: SYSTEM and Administrators only) and
#    the service "credsync-forwarder": own process, LocalSystem (New-Service's default account;
#    the spool is SYSTEM's), started at boot, restarted by the service control manager after a
#    failure (1 minute, three times, the count reset after a day; also when it stops itself with
#    an error: failureflag 1). Who may start or stop it: the service's default DACL
#    (Administrators, SYSTEM); it reads the directory and never writes to it.
if ($ServerHost) {
    if (-not ($ForwarderId -and $Token -and $BaseDn)) {
        throw 'The forwarder needs -ServerHost, -ForwarderId, -Token and -BaseDn together.'
    }
    if (-not $Token.StartsWith("csf1.$ForwarderId.")) {
        throw 'The token is not this forwarder''s (csf1.<forwarder_id>.<key>).'
    }
    $service = 'credsync-forwarder'
    $programDir = Join-Path $env:ProgramFiles 'credsync'
    $confDir = Join-Path $env:ProgramData 'credsync'
    $conf = Join-Path $confDir 'forwarder.conf'
    $binary = Join-Path $programDir 'credsync-forwarder.exe'
    if ($PSCmdlet.ShouldProcess($conf, 'write the forwarder''s configuration and install its service')) {
        # an earlier install's scheduled task (before the service) goes
        if (Get-ScheduledTask -TaskName 'credsync forwarder' -ErrorAction SilentlyContinue) {
            Stop-ScheduledTask -TaskName 'credsync forwarder' -ErrorAction SilentlyContinue
            Unregister-ScheduledTask -TaskName 'credsync forwarder' -Confirm:$false
        }
        if (Get-Service -Name $service -ErrorAction SilentlyContinue) {
            Stop-Service -Name $service -Force   # to replace its binary and configuration
        }
        New-Item -ItemType Directory -Force -Path $programDir, $confDir | Out-Null
        Copy-Item -LiteralPath $ForwarderPath -Destination $programDir -Force
        $lines = @(
            "server_host=$ServerHost", "server_port=$ServerPort", "forwarder_id=$ForwarderId",
            "token=$Token", "spool=$SpoolDirectory", "ldap_host=$env:COMPUTERNAME.$env:USERDNSDOMAIN",
            'ldap_port=636', "base_dn=$BaseDn", "dc=$env:COMPUTERNAME", 'reject_after=300')
        Set-Content -LiteralPath $conf -Value $lines -Encoding ascii
        $acl = New-Object System.Security.AccessControl.FileSecurity
        $acl.SetAccessRuleProtection($true, $false)
        foreach ($sid in 'S-1-5-18', 'S-1-5-32-544') {
            $id = New-Object System.Security.Principal.SecurityIdentifier($sid)
            $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($id, 'FullControl', 'Allow')))
        }
        Set-Acl -LiteralPath $conf -AclObject $acl
        $binPath = "`"$binary`" `"$conf`" --service"
        if (Get-Service -Name $service -ErrorAction SilentlyContinue) {
            & sc.exe config $service binPath= $binPath start= auto obj= LocalSystem | Out-Null
        } else {
            New-Service -Name $service -BinaryPathName $binPath -DisplayName 'credsync forwarder' `
                -Description 'Sends the credsync password filter''s spooled records to the credsync server.' `
                -StartupType Automatic | Out-Null
        }
        & sc.exe failure $service reset= 86400 actions= restart/60000/restart/60000/restart/60000 | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "sc.exe failure $service exited $LASTEXITCODE" }
        & sc.exe failureflag $service 1 | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "sc.exe failureflag $service exited $LASTEXITCODE" }
        Start-Service -Name $service
    }
}

Write-Host "credsync password filter installed on $env:COMPUTERNAME."
Write-Host 'RESTART this domain controller: lsass loads notification packages only at boot.'
Write-Host 'Install it on every other writable DC of the domain too.'
