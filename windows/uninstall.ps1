<#
.SYNOPSIS
    Removes the credsync password filter from this domain controller.

.DESCRIPTION
    Takes "credsyncfilter" out of the LSA "Notification Packages", deletes the filter's
    configuration, and removes the forwarder's scheduled task and configuration (its token;
    revoke the forwarder in the vault too: credsync capture revoke FORWARDER_ID). lsass keeps the DLL loaded until the next restart, so the file in System32
    is deleted at that restart (MoveFileEx, MOVEFILE_DELAY_UNTIL_REBOOT). The spool directory
    is kept (it holds only ciphertext the forwarder has not delivered yet) unless -RemoveSpool.
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
        Set-ItemProperty -Path $lsaKey -Name 'Notification Packages' -Value ([string[]]($packages | Where-Object { $_ -ne $package })) -Type MultiString
    }
}

if (Get-ScheduledTask -TaskName 'credsync forwarder' -ErrorAction SilentlyContinue) {
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
        Remove-Item -LiteralPath $spool -Recurse -Force
    }
}

Write-Host 'credsync password filter removed. RESTART this domain controller to unload it from lsass.'
