<#
.SYNOPSIS
    Removes the credsync password filter from this domain controller.

.DESCRIPTION
    Takes "credsyncfilter" out of the LSA "Notification Packages", deletes the filter's
    configuration, stops and deletes the forwarder's service "credsync-forwarder" (and an
    earlier install's scheduled task), deletes its configuration (its token; revoke the
    forwarder in the vault too: credsync capture revoke FORWARDER_ID) and the two event log
    sources. lsass keeps the DLL loaded until the next restart, so the file in System32
    is deleted at that restart (MoveFileEx, MOVEFILE_DELAY_UNTIL_REBOOT). The spool directory
    is kept (it holds only ciphertext the forwarder has not delivered yet, and its "rejected"
    folder) unless -RemoveSpool; it is SYSTEM's only, so -RemoveSpool first makes the
    Administrators its owner (takeown) and grants them access (icacls).
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [switch]$RemoveSpool
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

$packages = @((Get-ItemProperty -Path $lsaKey -Name 'Notification Packages' -ErrorAction SilentlyContinue).'Notification Packages')
$packages = @($packages | Where-Object { $_ })
if ($packages -contains $package) {
    if ($PSCmdlet.ShouldProcess($lsaKey, "remove $package from Notification Packages")) {
        # @(...): an array even when ours was the only entry (an empty one: an empty REG_MULTI_SZ;
        # without it the filtered list would be $null)
        Set-ItemProperty -Path $lsaKey -Name 'Notification Packages' -Value ([string[]]@($packages | Where-Object { $_ -ne $package })) -Type MultiString
    }
}

if (Get-Service -Name 'credsync-forwarder' -ErrorAction SilentlyContinue) {
    if ($PSCmdlet.ShouldProcess('credsync-forwarder', 'stop and delete the service')) {
        Stop-Service -Name 'credsync-forwarder' -Force -ErrorAction SilentlyContinue
        & sc.exe delete 'credsync-forwarder' | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "sc.exe delete credsync-forwarder exited $LASTEXITCODE" }
    }
}
foreach ($source in 'credsync-filter', 'credsync-forwarder') {
    if ([System.Diagnostics.EventLog]::SourceExists($source)) {
        if ($PSCmdlet.ShouldProcess($source, 'remove the event log source')) {
            Remove-EventLog -Source $source
        }
    }
}
if (Get-ScheduledTask -TaskName 'credsync forwarder' -ErrorAction SilentlyContinue) {   # before the service
    if ($PSCmdlet.ShouldProcess('credsync forwarder', 'stop and remove the scheduled task')) {
        Stop-ScheduledTask -TaskName 'credsync forwarder' -ErrorAction SilentlyContinue
        Unregister-ScheduledTask -TaskName 'credsync forwarder' -Confirm:$false
    }
}
$conf = Join-Path $env:ProgramData 'credsync\forwarder.conf'
if (Test-Path -LiteralPath $conf) {
    if ($PSCmdlet.ShouldProcess($conf, 'delete the forwarder''s configuration (its token)')) {
        Remove-Item -LiteralPath $conf -Force
    }
}

$spool = $null
if (Test-Path $configKey) {
    $spool = (Get-ItemProperty -Path $configKey -Name SpoolDirectory -ErrorAction SilentlyContinue).SpoolDirectory
    if ($PSCmdlet.ShouldProcess($configKey, 'delete the configuration')) {
        Remove-Item -Path $configKey -Recurse -Force
    }
}

$dll = Join-Path $env:SystemRoot "System32\$package.dll"
if (Test-Path -LiteralPath $dll) {
    Add-Type -Namespace Credsync -Name Native -MemberDefinition @'
[DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
public static extern bool MoveFileEx(string existing, string replacement, int flags);
'@
    if ($PSCmdlet.ShouldProcess($dll, 'delete at the next restart')) {
        if (-not [Credsync.Native]::MoveFileEx($dll, $null, 4)) {   # MOVEFILE_DELAY_UNTIL_REBOOT
            Write-Warning "Could not schedule $dll for deletion; delete it after the restart."
        }
    }
}

if ($RemoveSpool -and $spool -and (Test-Path -LiteralPath $spool)) {
    if ($PSCmdlet.ShouldProcess($spool, 'delete the spool directory')) {
        & takeown.exe /F $spool /R /D Y /A | Out-Null            # SYSTEM's only: Administrators take it
        & icacls.exe $spool /grant '*S-1-5-32-544:(OI)(CI)F' /T /C | Out-Null
        Remove-Item -LiteralPath $spool -Recurse -Force
    }
}

Write-Host 'credsync password filter removed. RESTART this domain controller to unload it from lsass.'
