"""Installed Windows roles, role services and features (``Get-WindowsFeature``,
``Get-WindowsOptionalFeature``): ``windows_features[]`` of the snapshot, as ``snap.features``.

Names are the Server Manager names (``Web-DAV-Publishing``); a ``Get-WindowsOptionalFeature`` listing
(client SKUs, DISM) uses other names (``IIS-WebDAV``), mapped here to the same question. A feature
listed with its state answers True/False; one not listed answers None (unknown), so a rule says
``not_reviewed`` when nothing was captured, never "not installed".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .snapshot import Snapshot

# Server Manager name -> the optional-feature (DISM) names of the same component.
OPTIONAL_NAMES: dict[str, tuple[str, ...]] = {
    "Web-Server": ("IIS-WebServerRole", "IIS-WebServer"),
    "Web-DAV-Publishing": ("IIS-WebDAV",),
    "Web-CGI": ("IIS-CGI",),
    "Web-ISAPI-Ext": ("IIS-ISAPIExtensions",),
    "Web-ISAPI-Filter": ("IIS-ISAPIFilter",),
    "Web-Mgmt-Service": ("IIS-ManagementService",),
    "Web-Ftp-Server": ("IIS-FTPServer",),
    "Web-Ftp-Service": ("IIS-FTPSvc",),
    "Web-Dir-Browsing": ("IIS-DirectoryBrowsing",),
    "Web-Http-Errors": ("IIS-HttpErrors",),
    "Web-Http-Tracing": ("IIS-HttpTracing",),
    "Web-Http-Logging": ("IIS-HttpLogging",),
    "Web-Mgmt-Compat": ("IIS-IIS6ManagementCompatibility",),
    "Web-Metabase": ("IIS-Metabase",),
    "Print-Internet": ("Printing-InternetPrinting-Client", "Printing-Foundation-InternetPrinting-Client"),
    "SMTP-Server": (),
}


class Features:
    """Installed state by feature name (case-insensitive), with the record for evidence."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.by_name: dict[str, dict[str, Any]] = {}
        for record in snap.data.get("windows_features") or []:
            name = str(record.get("name") or "").strip()
            if name:
                self.by_name.setdefault(name.casefold(), record)

    @property
    def captured(self) -> bool:
        return bool(self.by_name)

    def record(self, name: str) -> dict[str, Any] | None:
        """The listed record of `name` (or of its optional-feature name), or None."""
        for candidate in (name, *OPTIONAL_NAMES.get(name, ())):
            found = self.by_name.get(candidate.casefold())
            if found is not None:
                return found
        return None

    def installed(self, name: str) -> bool | None:
        """True/False when `name` was listed with its state, None when it was not listed."""
        found = self.record(name)
        if found is None or found.get("installed") is None:
            return None
        return bool(found["installed"])

    def installed_names(self) -> list[str]:
        return [str(r["name"]) for r in self.by_name.values() if r.get("installed")]
