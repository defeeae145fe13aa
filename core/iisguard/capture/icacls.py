"""icacls output (one or many paths, `/T` listings, errors, summary lines) -> `acls[]`, streamed.

The first line of each path is `PATH PRINCIPAL:(flags)(rights)`; the following ACE lines are indented
by exactly `len(PATH) + 1` spaces, which tells where a path with spaces ends. A path with a single
ACE has no such line; then the principal is found by what it looks like (a SID, a principal seen
earlier in the listing, a `DOMAIN\\` prefix, a well-known name). Relative paths are joined to the
prompt's folder when the capture shows one. ACLs are appended to the builder as they are read, so
a 100 MB `/T` listing never sits in memory as text.
"""

from __future__ import annotations

import ntpath
import re
from typing import Any

from ..hookspecs import hookimpl
from ..model import rights
from . import console, words
from .base import Artifact, ArtifactRun, Builder, RunParser

_ACE_TAIL = re.compile(r"^(?:\([^()]*\))+$")
_GROUP = re.compile(r"\(([^()]*)\)")
_SUMMARY = re.compile(r"^\D*?(\d[\d,.\u00a0 ]*)\D+?;\D*?(\d[\d,.\u00a0 ]*)\D*$")
_ACE_HINT = re.compile(r":\((?:I|OI|CI|IO|NP|DENY|[A-Z]{1,4}(?:,[A-Za-z]{1,4})*)\)")
_SID = re.compile(r"^\*?S-1-\d+(?:-\d+)+$", re.IGNORECASE)
_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:\\|\\\\)")
_ADMIN_SHARE = re.compile(r"^\\\\([A-Za-z0-9][A-Za-z0-9-]{0,62})(?:\.[^\\]*)?\\[A-Za-z]\$\\", re.IGNORECASE)
_INHERITANCE = ("OI", "CI", "IO", "NP")
_PROCESSED = re.compile(r"^processed (?:file|dir): ", re.IGNORECASE)
_MAX_CACHE = 20_000
_MAX_SEEN = 2_000
_BARE_WELL_KNOWN = words.bare_names()


class IcaclsParser(RunParser):
    kind = "icacls"
    sections = ("acls",)

    def detect(self, head: str, name: str) -> float:
        hits = len(_ACE_HINT.findall(head[:32768]))
        score = 0.0
        if hits >= 2:
            score = 0.9
        elif hits == 1:
            score = 0.6
        elif re.search(r"(?im)^\s*(?:\S+>\s*)?icacls\b", head):
            score = 0.5
        return console.name_bonus(score, name, ("icacls",))


class _Run(ArtifactRun):
    def __init__(self, artifact: Artifact, builder: Builder) -> None:
        super().__init__(artifact, builder)
        self.cwd: str | None = None
        self.pending: tuple[int, str] | None = None  # first line of a path, width not known yet
        # a line that may be the first half of a wrapped path, and the widest line before it
        self.fragment: tuple[int, str, int] | None = None
        self.current: dict[str, Any] | None = None
        self.cache: dict[str, tuple[Any, ...] | None] = {}
        self.lists: dict[tuple[str, ...], list[str]] = {}
        self.seen: dict[str, None] = {}  # principals seen in this listing (ordered set)
        self.count = 0
        self.reported_failed = 0
        self.suggested = False
        self.widest = 0  # the widest line so far: the console's width when the listing wraps
        self.unindented = False  # ACE lines without their indentation were met (warned once)

    # -- driver --------------------------------------------------------------------------------------------
    def run(self) -> None:
        for no, line in console.numbered(self.a):
            self.line(no, line)
            if len(line) > self.widest:
                self.widest = len(line)
        self.flush_pending()
        self.flush_fragment()
        self.close()
        self.finish()

    def line(self, no: int, line: str) -> None:
        if line[:1] == " " and (self.current is not None or self.pending is not None):
            self.continuation(no, line)  # the hot path of a /T listing
            return
        if not line.strip():
            self.flush_pending()
            self.flush_fragment()
            self.close()
            return
        p = console.prompt(line)
        if p is not None:
            self.flush_pending()
            self.flush_fragment()
            self.close()
            console.note_prompt(p, self.b)
            if p.cwd:
                self.cwd = p.cwd
            return
        stripped = line.strip()
        if console.is_banner(line):
            return
        if stripped.startswith(("+ ", "At line:", "At char:")) or stripped == "+":
            return  # the rest of a PowerShell error record whose first line was reported
        if line[0].isspace():
            self.continuation(no, line)
            return
        for prefix in ("icacls.exe : ", "icacls : "):
            if line.startswith(prefix):  # stderr merged by PowerShell (2>&1)
                line = line[len(prefix) :]
                stripped = line.strip()
                break
        if ":(" in line and _ACE_TAIL.match(line[line.rfind(":(") + 1 :].strip()):
            if (self.current is not None or self.pending is not None) and self.bare_ace(line):
                # An ACE whose indentation a write-up or chat client dropped: it belongs to the path above.
                if not self.unindented:
                    self.unindented = True
                    self.b.warn(
                        self.a,
                        no,
                        "icacls: ACE lines without their indentation (as pasted into a write-up) are read as "
                        "ACEs of the path above them",
                    )
                self.continuation(no, " " + line)
                return
            self.flush_pending()
            if self.fragment is not None and self.wrapped(self.fragment, line):
                fno, ftext, _ = self.fragment  # `C:\very\long\pa` + `th\file.txt SYSTEM:(F)`
                self.fragment = None
                self.pending = (fno, ftext + line)
            else:
                self.flush_fragment()
                self.pending = (no, line)
            self.close()
            return
        if console.is_command(line):
            self.flush_pending()
            self.flush_fragment()
            self.close()
            return  # the command echoed under its prompt (cmd /c, a script's echo)
        self.flush_pending()
        if _PROCESSED.match(
            stripped
        ):  # what icacls prints for each file it changed (/grant, /setintegritylevel)
            self.close()
            self.flush_fragment()
            return
        m = _SUMMARY.match(stripped)
        if m and ";" in stripped:
            self.close()
            self.flush_fragment()
            failed = _int(m.group(2))
            if failed:
                self.reported_failed += failed
                self.problems += 1
                self.b.warn(self.a, no, f"icacls: failed to process {failed} file(s); their ACLs are missing")
            return
        if self.is_error(no, stripped):
            self.close()
            self.flush_fragment()
            return
        # The current ACL stays open: one stray line injected into a listing must not hide the ACEs
        # indented under the path after it (they are recovered; the stray line is a warning).
        self.flush_fragment()
        self.fragment = (no, line, self.widest)

    def bare_ace(self, line: str) -> bool:
        """A line that is only `PRINCIPAL:(rights)`: no `PATH ` before it (a principal without a space in its
        name, or one whose name is known whole: `NT AUTHORITY\\SYSTEM`, `Mandatory Label\\High Mandatory Level`)."""
        head = line[: line.rfind(":(")].strip()
        if not head or _ABSOLUTE.match(head):
            return False
        return " " not in head or bool(words.sid_for(head)) or head.casefold() in self.seen

    def wrapped(self, fragment: tuple[int, str, int], line: str) -> bool:
        """Whether `fragment` is the first half of the path on `line`, cut by the console.

        Only when it filled the console (80 or 120 columns, or the widest line so far), or when it
        cannot stand alone: it starts like an absolute path and the line's own path does not.
        """
        _, text, widest = fragment
        if console.fills_width(text, widest):
            return True
        return bool(_ABSOLUTE.match(text.strip())) and not _ABSOLUTE.match(line.strip())

    def is_error(self, no: int, text: str) -> bool:
        """`C:\\x: Access is denied.` and other per-path messages: warnings, and the section is partial."""
        head, sep, message = text.rpartition(": ")
        if sep and head and message.endswith((".", "!", "\u3002")) and _looks_like_path(head):
            self.problems += 1
            self.b.warn(self.a, no, f"icacls: {head}: {message}")
            return True
        return False

    def flush_fragment(self) -> None:
        if self.fragment is not None:
            no, text, _ = self.fragment
            self.fragment = None
            self.b.warn(
                self.a,
                no,
                f"icacls: skipped a line that is neither a path with an ACE nor an ACE: {console.clip(text)}",
            )

    # -- paths -----------------------------------------------------------------------------------------------
    def continuation(self, no: int, line: str) -> None:
        if self.fragment is not None:
            self.flush_fragment()
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if self.pending is not None:
            pno, first = self.pending
            self.pending = None
            if 1 < indent < len(first) and first[indent - 1] == " " and first[: indent - 1].strip():
                self.start_acl(pno, first[: indent - 1], first[indent:])
            else:
                path, ace = self.split(first)
                self.start_acl(pno, path, ace)
        if self.current is None:
            self.b.warn(
                self.a, no, f"icacls: skipped an indented line with no path above it: {console.clip(text)}"
            )
            return
        self.add_ace(no, text)

    def flush_pending(self) -> None:
        if self.pending is not None:
            pno, first = self.pending
            self.pending = None
            path, ace = self.split(first)
            self.start_acl(pno, path, ace)

    def split(self, text: str) -> tuple[str, str]:
        """Path and first ACE of a line with one ACE, where no indented line shows the path's width."""
        idx = text.rfind(":(")
        head = text[:idx]
        folded = head.casefold()
        cut: int | None = None
        m = re.search(r"\s(\*?S-1-\d+(?:-\d+)+)$", head, re.IGNORECASE)
        if m:
            cut = m.start() + 1
        if cut is None:
            for principal in reversed(self.seen):
                if folded.endswith(" " + principal) and len(principal) < len(folded) - 1:
                    cut = len(head) - len(principal)
                    break
        if cut is None:
            best = -1
            for d in words.MULTIWORD_DOMAINS:
                pos = folded.rfind(" " + d.casefold() + "\\")
                best = max(best, pos)
            if best >= 0:
                cut = best + 1
        if cut is None:
            for name in _BARE_WELL_KNOWN:
                if folded.endswith(" " + name.casefold()):
                    cut = len(head) - len(name)
                    break
        if cut is None:
            b = head.rfind("\\")
            if b > 0:
                seg_start = head.rfind("\\", 0, b) + 1
                space = head.rfind(" ", seg_start, b)
                if space > 0 and not head[space + 1 : b].endswith(":"):
                    cut = space + 1
        if cut is None:
            space = head.rstrip().rfind(" ")
            cut = space + 1 if space > 0 else 0
        return head[:cut].rstrip(), text[cut:]

    def start_acl(self, no: int, path: str, ace: str) -> None:
        path = path.strip()
        if not path:
            self.b.warn(self.a, no, f"icacls: skipped an ACE line without a path: {console.clip(ace)}")
            self.close()
            return
        if self.cwd and not _ABSOLUTE.match(path):
            path = ntpath.normpath(ntpath.join(self.cwd, path))
        if not self.suggested:
            m = _ADMIN_SHARE.match(path)
            if m:
                self.b.suggest_host(m.group(1).upper())
                self.suggested = True
        self.close()
        self.current = {"path": path, "aces": [], "evidence": self.b.evidence(self.a, no)}
        self.count += 1
        self.add_ace(no, ace)

    def close(self) -> None:
        """Hand the finished ACL to the builder (only whole ACLs are appended, so the list may spill)."""
        if self.current is not None:
            self.b.add_acl(self.current)
            self.current = None

    # -- ACEs ----------------------------------------------------------------------------------------------------
    def add_ace(self, no: int, text: str) -> None:
        assert self.current is not None
        text = text.strip()
        if text in self.cache:
            template = self.cache[text]
        else:
            template = self.read_ace(text)
            if len(self.cache) >= _MAX_CACHE:
                self.cache.clear()
            self.cache[text] = template
        if template is None:
            self.b.warn(self.a, no, f"icacls: skipped an ACE that cannot be read: {console.clip(text)}")
            return
        if not template:
            return  # an integrity label, not an access rule
        principal, sid, kind, rights_list, inherited, inheritance = template
        ace: dict[str, Any] = {"principal": principal}
        if sid:
            ace["sid"] = sid
        ace["type"] = kind
        ace["rights"] = rights_list
        ace["inherited"] = inherited
        ace["inheritance"] = inheritance
        ace["evidence"] = {"artifact": self.a.path, "line": no}
        self.current["aces"].append(ace)

    def read_ace(self, text: str) -> tuple[Any, ...] | None:
        idx = text.rfind(":(")
        if idx <= 0:
            return None
        tail = text[idx + 1 :].strip()
        if not _ACE_TAIL.match(tail):
            return None
        principal = text[:idx].strip()
        tokens = [t.strip().upper() for g in _GROUP.findall(tail) for t in g.split(",") if t.strip()]
        flags = set()
        rights_tokens = []
        for t in tokens:
            if t in ("I", "DENY", *_INHERITANCE):
                flags.add(t)
            else:
                rights_tokens.append(t)
        if principal.casefold().startswith(("mandatory label\\", "verbindliche beschriftung\\")) or (
            rights_tokens and set(rights_tokens) <= {"NW", "NR", "NX"}
        ):
            return ()
        codes = rights.normalize_codes(rights_tokens)
        if not codes:
            return None
        sid = None
        if _SID.match(principal):
            principal = principal.lstrip("*").upper()
            sid = principal
        else:
            sid = words.sid_for(principal)
        if len(self.seen) < _MAX_SEEN:
            self.seen.setdefault(principal.casefold(), None)
        inheritance = [f for f in _INHERITANCE if f in flags]
        return (
            principal,
            sid,
            "deny" if "DENY" in flags else "allow",
            self.shared(codes),
            "I" in flags,
            self.shared(inheritance),
        )

    def shared(self, items: list[str]) -> list[str]:
        """One list object per distinct value: a /T listing repeats a handful of rights millions of times."""
        key = tuple(items)
        found = self.lists.get(key)
        if found is None:
            found = self.lists[key] = items
        return found

    # -- result ---------------------------------------------------------------------------------------------------
    def finish(self) -> None:
        if not self.count:
            self.b.warn(self.a, None, "icacls: no path with an ACL found in this file")
            self.b.section("acls", "partial", f"nothing readable in {self.a.path}")
            return
        if self.problems:
            self.b.section("acls", "partial", "icacls could not read some paths (see warnings)")
        else:
            self.b.section("acls", "ok")


def _looks_like_path(text: str) -> bool:
    return bool(_ABSOLUTE.match(text)) or "\\" in text or "/" in text or " " not in text.strip()


def _int(text: str) -> int:
    digits = re.sub(r"\D", "", text)
    return int(digits) if digits else 0


PARSERS = [IcaclsParser(reader=_Run)]


@hookimpl
def iisguard_register_parsers() -> list[Any]:
    return PARSERS
