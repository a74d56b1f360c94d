"""The load cache: facts start-up works out from file contents alone, kept between runs of `serve`
(issue 13). Each is keyed by a hash of everything it depends on:

- a fixture text composed as YAML with its marks (marks.py), keyed by the text; likewise where a
  schema's x-endpoint.action stands in its text;
- "this document passes that schema's compiled check" (fastcheck.py), keyed by the whole schema
  set, the schema's name and the document's text;
- "this shared schema's text parses as JSON", keyed by the text: it is decoded at its first use.

A changed file has another hash, so it is composed and checked afresh: a broken edit is reported at
FILE:LINE:COLUMN as without the cache, and nothing stale is served. Only problem-free results are
kept. Every key is also salted with the code that made the entries: PyYAML, jsonschema-rs and the
modules that drive them (their files' path, size and mtime), so changed code finds nothing. A
start-up whose files are all known imports neither PyYAML nor jsonschema-rs. The file is one marshal
blob in the user's cache directory, trusted as Python trusts its own __pycache__ (also marshal); an
unreadable or foreign file is ignored, and a failed write only costs the next start-up its speed."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Final

FILE_NAME: Final = "load-cache.marshal"
FORMAT: Final = 1  # bump when what an entry holds changes
# A run's own entries are kept first, then the most recently used of the others: a catalogue and its
# fixtures are a few hundred, so a handful of configurations fit and the file stays small to read.
MAX_ENTRIES: Final = 1024
# The code whose output the entries are: the libraries and the modules that drive them.
MAKERS: Final = ("yaml", "jsonschema_rs", "mockserver.yamlmarks", "mockserver.marks", "mockserver.fastcheck")
_TAG: Final = "dify-mockserver load cache"  # what a file of this module's starts with


def digest(*parts: str) -> bytes:
    """A content hash of `parts` (each length-prefixed, so the parts cannot run into each other)."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


def default_dir() -> Path | None:
    """$XDG_CACHE_HOME/dify-mockserver, else ~/.cache/dify-mockserver; None without a home to put it in."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no HOME and no password entry: no cache
            return None
    return Path(base) / "dify-mockserver"


def _signature() -> bytes:
    """What the entries are made by, as a hash: this format, the Python, and each maker's file (path,
    size, mtime). It salts every key, so the entries of other code (an upgrade, another copy of the
    package) are never found, yet stay until they age out."""
    found: list[str] = [str(FORMAT), sys.version]
    for name in MAKERS:
        spec = find_spec(name)  # finds without importing (a submodule's package is already imported)
        origin = spec.origin if spec is not None else None
        try:
            stat = os.stat(origin) if origin else None
        except OSError:
            stat = None
        found.append(repr((name, origin, (stat.st_size, stat.st_mtime_ns) if stat else None)))
    return digest(*found)


class LoadCache:
    __slots__ = ("_entries", "_fresh", "_path", "_salt", "_used")

    def __init__(self, path: Path | None, entries: dict[bytes, Any], salt: bytes) -> None:
        self._path = path
        self._entries = entries
        self._salt = salt
        self._used: set[bytes] = set()
        self._fresh = False  # an entry was added: save() writes the file

    @classmethod
    def open(cls, directory: Path) -> LoadCache:
        """The cache kept in `directory` (empty when missing, unreadable or not this format's)."""
        path = directory / FILE_NAME
        entries: dict[bytes, Any] = {}
        try:
            stored = marshal.loads(path.read_bytes())
            if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == _TAG and isinstance(stored[1], dict):
                entries = stored[1]
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return cls(path, entries, _signature())

    def composed(self, key: bytes) -> Any:
        """The (data, marks, key marks) kept for this text's key, fresh objects each time; or None."""
        blob = self._get(b"p", key)
        return marshal.loads(blob) if blob is not None else None

    def keep_composed(self, key: bytes, composed: Any) -> None:
        # Serialised now: the loader may change the objects it goes on to use.
        self._put(b"p", key, marshal.dumps(composed))

    def passes(self, key: bytes) -> bool:
        """Whether the check this key names passed before."""
        return self._get(b"v", key) is not None

    def keep_pass(self, key: bytes) -> None:
        self._put(b"v", key, True)

    def mark(self, key: bytes) -> tuple[int, int] | None:
        """The (line, column) kept for this text's key (a schema's x-endpoint.action), or None."""
        found = self._get(b"m", key)
        return (found[0], found[1]) if found is not None else None

    def keep_mark(self, key: bytes, mark: tuple[int, int]) -> None:
        self._put(b"m", key, mark)

    def _get(self, kind: bytes, key: bytes) -> Any:
        full = kind + self._salt + key
        found = self._entries.get(full)
        if found is not None:
            self._used.add(full)
        return found

    def _put(self, kind: bytes, key: bytes, value: Any) -> None:
        full = kind + self._salt + key
        self._used.add(full)
        if self._entries.get(full) != value:
            self._entries[full] = value
            self._fresh = True

    def save(self) -> None:
        """Write the entries back when this run added any; this run's first, others up to MAX_ENTRIES."""
        if not self._fresh or self._path is None:
            return
        kept = {k: v for k, v in self._entries.items() if k in self._used}
        for key, value in self._entries.items():  # as read: the previous run's first, so the most recent
            if len(kept) >= MAX_ENTRIES:
                break
            kept.setdefault(key, value)
        directory = self._path.parent
        temporary = directory / f".{FILE_NAME}.{os.getpid()}"
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary.write_bytes(marshal.dumps((_TAG, kept)))
            os.replace(temporary, self._path)  # whole or not at all, for a reader running alongside
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
        self._fresh = False
