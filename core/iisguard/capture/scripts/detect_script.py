"""Is a file a build script or a capture? Scripts are code: statements, no program output, no prompts.

A transcript shows prompts (`PS C:\\>`, `C:\\x>`) and what commands printed (ACE lines, `Successfully
processed`, tables); a script shows only the commands, with code around them (`param(`, `$x =`,
`@echo off`, `rem`, `setlocal`, `%VAR%`). A script scores above every capture parser's usual
confidence (0.97), so a .ps1 that runs `icacls` is read as a script, and a paste of icacls output with
the command echoed above it is still read as icacls output (0 here: it holds output).
"""

from __future__ import annotations

import re

from .. import console

SCRIPT_SCORE = 0.97
_LINES = 400  # the head lines looked at

# What program output looks like (never in a script): ACE lines, icacls/appcmd/net summaries, tables.
_OUTPUT = re.compile(
    r"^\s*(?:Successfully processed \d|processed file:|APPPOOL object \"|SITE object \"|APP object \"|"
    r"CONFIG object \"|The command completed successfully|Privilege Name\s|User Name\s{2,}|"
    r"Registering ServicePrincipalNames|Updated object|Checking domain|Registered ServicePrincipalNames)"
    r"|^\s*(?:[\w .$-]+\\)?[\w .$-]+:\((?:I|OI|CI)\)(?:\([A-Z,]+\))+\s*$"
    r"|^\s*=+(?:\s+=+)+\s*$",
    re.IGNORECASE,
)
# PowerShell code: a variable assignment, param block, function, cmdlet with a parameter, control flow.
_PS_CODE = re.compile(
    r"^\s*(?:\$[\w:{}]+(?:\.[\w]+|\[[^\]]*\])*\s*[+-]?=|\[CmdletBinding|param\s*\(|function\s+[\w-]+|#Requires\b"
    r"|Import-Module\b|(?:foreach|if|elseif|while|switch|try|catch|finally|trap)\b\s*[({]?"
    r"|[A-Z][a-z]+-[A-Za-z]+\s+(?:-\w+|@\w+|'|\"|\$|\w)|\}|\{|&\s*[\"'$\w]|\.\s+[\"'$\w])",
    re.IGNORECASE,
)
_PS_STRONG = re.compile(
    r"^\s*(?:\$[\w:{}]+\s*=|\[CmdletBinding|param\s*\(|function\s+[\w-]+|#Requires\b|Import-Module\b"
    r"|(?:New|Set|Add)-(?:WebAppPool|ItemProperty|Website|WebApplication|WebVirtualDirectory"
    r"|WebConfigurationProperty|WebConfiguration|LocalUser|LocalGroupMember|ADUser|ADAccountControl"
    r"|ADComputer|Item)\b|\$ErrorActionPreference)",
    re.IGNORECASE,
)
_BATCH_CODE = re.compile(
    r"^\s*@?(?:echo\b|rem\b|::|setlocal\b|endlocal\b|set\s+\"?\w+=|if\s|for\s|goto\s|call\s|exit\s*/b|:\w+\s*$|"
    r"pushd\b|popd\b|cd\s|%\w+%)",
    re.IGNORECASE,
)
_BATCH_STRONG = re.compile(
    r"^\s*@?(?:echo\s+off|setlocal\b|rem\b|::|set\s+\"?\w+=|goto\s|call\s|exit\s*/b)", re.IGNORECASE
)
_BATCH_PROGRAMS = re.compile(
    r"^\s*@?(?:call\s+)?\"?(?:[%\w.:~\\-]*\\)?(?:appcmd|icacls|setspn|ntrights|net1?|secedit|sc|reg|dism|"
    r"powershell|cacls|xcopy|mkdir|md|copy)(?:\.exe)?\"?\s+\S",
    re.IGNORECASE,
)


def _lines(head: str) -> list[str]:
    return [line for line in head.splitlines()[:_LINES] if line.strip()]


def _has_output(lines: list[str]) -> bool:
    return any(console.prompt(line) is not None or _OUTPUT.search(line) for line in lines)


def powershell(head: str, name: str) -> float:
    """Confidence that a file is a PowerShell script (the .ps1/.psm1 name is a hint, content decides)."""
    lines = _lines(head)
    if (
        not lines
        or head.lstrip("\ufeff \t\r\n")[:1] in ("{", "[", "<")
        and not name.casefold().endswith(".ps1")
    ):
        return 0.0
    if _has_output(lines):
        return 0.0
    code = [line for line in lines if not line.lstrip().startswith("#")]
    if not code:
        return 0.5 if name.casefold().endswith((".ps1", ".psm1")) else 0.0
    strong = sum(1 for line in code if _PS_STRONG.match(line))
    share = sum(
        1 for line in code if _PS_CODE.match(line) or line.strip().startswith(("-", "`", ")", "@", "'", '"'))
    ) / len(code)
    if name.casefold().endswith((".ps1", ".psm1")) and (strong or share >= 0.5):
        return SCRIPT_SCORE + 0.02
    if strong >= 2 and share >= 0.6:
        return SCRIPT_SCORE
    return 0.0


def batch(head: str, name: str) -> float:
    """Confidence that a file is a batch script (.cmd/.bat is a hint, content decides)."""
    lines = _lines(head)
    if not lines or _has_output(lines):
        return 0.0
    programs = sum(1 for line in lines if _BATCH_PROGRAMS.match(line))
    code = sum(1 for line in lines if _BATCH_CODE.match(line) or _BATCH_PROGRAMS.match(line))
    strong = sum(1 for line in lines if _BATCH_STRONG.match(line))
    if name.casefold().endswith((".cmd", ".bat")) and code:
        return SCRIPT_SCORE + 0.02
    if strong and programs and code / len(lines) >= 0.6:
        return SCRIPT_SCORE
    return 0.0
