"""Where raw artifacts come from: the capture script, run over WinRM, through local PowerShell, or by hand."""
