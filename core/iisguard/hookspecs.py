"""The whole plugin contract of iisguard: one documented hook per extension point.

A rule pack is a module (or object) with functions marked ``@iisguard.hookimpl`` whose names are
the hooks below. Packs arrive through the ``iisguard`` entry-point group; first-party packs use the
same group. Hooks are called with keyword arguments only, and an implementation may accept a
subset of the arguments a hook offers.

Rules are *returned* by a registration hook, never implemented as hooks: pluggy stops calling
implementations when one raises, so one broken rule would hide the others. The engine runs each
rule on its own and turns a crash into an ``error`` outcome for that rule alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .capture.base import Parser
    from .engine.rule import Rule
    from .model.snapshot import Snapshot
    from .report.base import Reporter

hookspec = pluggy.HookspecMarker("iisguard")
# The marker packs put on their implementations; re-exported as ``iisguard.hookimpl``. Defined here,
# beside the specs, so that any layer (the capture parsers too) can implement a hook.
hookimpl = pluggy.HookimplMarker("iisguard")

# -- Registration: packs say what they provide ------------------------------------------------


@hookspec
def iisguard_register_rules() -> Iterable[Rule]:
    """Return the rules this pack provides.

    Each item must be a :class:`iisguard.Rule`, normally made with the ``@iisguard.rule`` decorator
    on a function ``(snapshot, params) -> Iterable[Result]``. The host validates every rule before
    any scan: ids must match ``IIS-<AREA>-<NNN>`` (built-in areas) or the pack's own prefix
    (``ACME-POOL-001``); ids must be unique across all packs; ``title``, ``severity``,
    ``description`` and ``remediation`` are required. A violation is a :class:`PluginError` that
    names the pack, and the scan stops with exit 2.

    :return: an iterable of rules (a list or tuple); ``None`` is treated as no rules.
    """


@hookspec
def iisguard_register_reporters() -> Mapping[str, Reporter]:
    """Return output formats this pack provides, keyed by format name (``"sarif"``, ``"html"``).

    A reporter is an object with ``render(report) -> str`` and the attributes ``name``,
    ``extension`` and ``description``. It may also have ``render_terminal(report) -> str``: when
    the output goes to standard output and that is a terminal, ``iisguard scan`` calls it instead
    of ``render`` (colours, widths); everywhere else (files, pipes) ``render`` is used. Both return
    the whole document as text; ``report`` is an :class:`iisguard.Report`. For a large document a
    reporter may also offer ``render_chunks(report)``, an iterable of UTF-8 ``bytes`` pieces: a
    file is then written piece by piece as they come, never joined whole (the built-in JSON and
    JUnit reporters do). A reporter that never
    shows where a pass stands (its ``pointer`` or ``evidence``: counting passes or naming their
    resources is fine) says so with ``lists_passes = False``; when every output of a scan says so,
    the engine does not look those up (a tenth of a large host's scan). The built-in text,
    json, sarif and junit reporters are registered through this hook like any other. Format names
    must be unique across packs (a second one is a :class:`PluginError` naming the pack).

    :return: a mapping of format name to reporter.
    """


@hookspec
def iisguard_register_parsers() -> Iterable[Parser]:
    """Return parsers for further artifact formats (an organization's inventory export, say).

    A parser has a ``kind`` (a short unique name such as ``"icacls"``), ``sections`` (the
    snapshot sections it fills), ``detect(head, name) -> float`` giving its confidence (0 to 1)
    that a file whose decoded text starts with ``head`` is its format, and
    ``parse(artifact, builder)`` that adds facts to the snapshot being assembled. Import detects
    each file's format from its content by asking every parser, so ``detect`` must be cheap.

    ``detect`` may take the file name as a second argument (a hint only: content decides) or
    only ``head``; import looks at its signature and calls it with what it accepts. Its result is
    clamped to 0..1, and a ``detect`` that raises or returns something that is not a number
    counts as 0 for that file (logged with ``--debug``), so one pack's parser cannot stop an
    import. The built-in parsers are registered through this hook like any other, before
    third-party ones; iisguard's own order breaks ties. A parser without ``kind``, ``detect`` or
    ``parse``, or whose ``kind`` is already taken, is left out with a warning.

    :return: an iterable of parsers.
    """


# -- Evaluation: packs may enrich the snapshot before rules run --------------------------------


@hookspec
def iisguard_snapshot_loaded(snapshot: Snapshot) -> None:
    """Called once per snapshot after it is loaded and validated, before any rule runs.

    Use it to derive data that several of a pack's rules need (an index, a classification of
    sites) and store it under ``snapshot.data["x-<pack>"]``. Rules read the snapshot only, so
    anything derived here is visible to them. Must not touch the network or the file system.

    :param snapshot: the loaded :class:`iisguard.Snapshot` (its ``data`` dict is mutable).
    """


@hookspec
def iisguard_pack_info() -> Mapping[str, Any] | None:
    """Return optional facts about the pack itself: ``{"prefixes": ["ACME-"], "description": "..."}``.

    ``prefixes`` restricts the rule ids the pack may register (built-in packs register ``IIS-``
    ids). ``description`` appears in ``iisguard plugins``.

    :return: a mapping, or ``None`` for no extra facts.
    """
