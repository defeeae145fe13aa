"""The second hop: facts a capture could not reach because its logon held no delegated credential.

A WinRM logon by NTLM, Basic or certificate, or Kerberos without delegation, cannot pass the user's
credential on (Microsoft Learn, "Making the second hop in PowerShell Remoting"): AD queries, setspn
and content on UNC shares fail on the server. The capture script says so itself when the collector
tells it (-NoDelegation). When nobody told it (a Kerberos ticket that was not forwardable, the
server not trusted for delegation, the script run by hand inside Enter-PSSession), Windows' own
errors arrive instead; they are recognised here, so the section says why it failed - once, in
words an administrator acts on - and is `failed`, never a half-trusted `partial`.
"""

from __future__ import annotations

from typing import Any

# The same sentence as capture.ps1's $SecondHop (tests/test_collect_second_hop.py keeps them equal).
SECOND_HOP = (
    "AD, setspn and UNC content need a delegated credential: use --transport kerberos --delegate, or "
    "credssp, or import AD data captured on a domain-joined admin workstation"
)

# What Windows says when a logon without a delegated credential reaches for the directory:
SYMPTOMS = (
    "An operations error occurred",  # ADSI bind: ERROR_DS_OPERATIONS_ERROR, 0x80072020 (winerror.h)
    "0x80072020",
    "Unable to contact the server",  # the ActiveDirectory module (ADServerDownException)
    "Error initializing default drive",  # its warning on Import-Module ActiveDirectory
    "Unable to find a default server with Active Directory Web Services running",
)
DIRECTORY_SECTIONS = ("ad", "spns")


def symptom(message: str) -> bool:
    """Whether a section message carries Windows' words for a directory it could not bind to."""
    return any(s.casefold() in message.casefold() for s in SYMPTOMS)


def explain(sections: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """(status, message) for the directory sections a second hop failed, by section name.

    `ad` and `spns` fail together: setspn binds to the directory as ADSI does, so its own failure
    (an exit code) has the same cause when the ad section shows the symptom.
    """
    hit = next(
        (
            s
            for s in sections.values()
            if s.get("name") in DIRECTORY_SECTIONS and symptom(str(s.get("message", "")))
        ),
        None,
    )
    if hit is None or SECOND_HOP in str(hit.get("message", "")):
        return {}
    said = " ".join(str(hit.get("message", "")).split())
    out = {}
    for name in DIRECTORY_SECTIONS:
        current = sections.get(name)
        if current is not None and current.get("status") in ("partial", "failed"):
            out[name] = ("failed", f"not collected: {SECOND_HOP} (Windows said: {said})")
    return out
