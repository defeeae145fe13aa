"""iisguard's version, read once from the installed distribution ("0+unknown" in an uninstalled checkout).

Its own module so that any layer can say which version wrote a snapshot or a report without
importing the package root (which re-exports the whole public API).
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("iisguard")
except metadata.PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0+unknown"
