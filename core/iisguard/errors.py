"""The exceptions a user can act on. Each carries the exit code the CLI returns for it."""

from __future__ import annotations


class IisguardError(Exception):
    """Base class: a message for a person, and an exit code."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class UsageError(IisguardError):
    """The command line asked for something impossible."""


class SnapshotError(IisguardError):
    """A snapshot file is missing, unreadable, not JSON or not valid against the schema."""

    # When several files failed (a scan tries them all), the messages of those before this one.
    earlier: tuple[str, ...] = ()


class CaptureError(IisguardError):
    """A captured artifact cannot be read at all (not a format we know, too large, unsafe XML)."""


class MissingExtra(CaptureError):
    """A feature needs an optional extra that is not installed; the message names it (exit 2)."""


class LimitError(CaptureError):
    """An input past a resource limit (an XML file of a million elements): the whole import stops with
    exit 2, naming the file, the line and the limit, instead of taking gigabytes. Unlike other capture
    errors it is not turned into a warning on one file."""


class PolicyError(IisguardError):
    """A profile, policy, waiver or YAML rule is malformed."""


class PluginError(IisguardError):
    """A rule pack failed to load or returned something the host rejects."""


class RuleCrashed(IisguardError):
    """`scan --strict`: a rule raised; the scan stops (exit 3, "a rule errored")."""

    exit_code = 3


class CollectionError(IisguardError):
    """Collecting from a server failed; `where` names the host."""

    exit_code = 3


def describe(exc: BaseException) -> str:
    """What plugin code raised, for a broken-pack message. SystemExit is a broken pack too: a pack
    calling sys.exit(0) at import made `scan` exit 0 with no report, a green gate (issue #18, case 15).
    KeyboardInterrupt is never caught: Ctrl-C still stops the run."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: called sys.exit({exc.code!r}); a pack must not end the process"
    return f"{type(exc).__name__}: {exc}"
