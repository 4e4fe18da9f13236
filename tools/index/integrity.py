"""Self-checks of a cached index.

Every committed stage folder records, in its ``status.json`` (and the manifest's copy), the size and BLAKE2b-128
checksum of each of its files (``StageStatus.files``). What is verified, and when:

* **sizes** of every file of every stage a command needs, whenever an index is opened (``VideoIndex.load`` /
  ``build``): one ``stat`` per file, so truncated, emptied or deleted files (the ``ok`` marker included) are found
  before anything reads them.
* **checksums** of the files a stage's loader reads, when the artefact is loaded (``VideoIndex.get``), and of
  every such file of every needed stage when a build checks its cache (``vidreason index``/``ask``/``ground``):
  the bytes are about to be read anyway. Files read one at a time later (``Stage.lazy_files``: thumbnails) are
  checked by size only there.
* ``vidreason cache verify`` checks sizes and checksums of every file of every stage folder in the cache.

A damaged stage is rebuilt by the next build (said once in the log); where the cache cannot be written, the
error names the file and the fix. A failed stage is recorded with a ``fingerprint`` of what the failure
depended on (the source files in its traceback, the states of the stages it reads) and is retried only when that
changes, or with ``--force``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vidreason.tools.core.errors import one_line
from vidreason.tools.core.media import FileCheck, StageStatus

STATUS_FILE = "status.json"
MARKER_FILE = "ok"
_CHUNK = 4 << 20


def file_digest(path: Path) -> str:
    """BLAKE2b-128 of the file's bytes (hex)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def record_files(folder: Path) -> dict[str, FileCheck]:
    """Size and checksum of every file under ``folder`` except its status record (relative POSIX paths)."""
    out = {}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        if rel != STATUS_FILE and f.is_file():
            out[rel] = FileCheck(size=f.stat().st_size, blake2b=file_digest(f))
    return out


def read_status(folder: Path) -> tuple[StageStatus | None, str | None]:
    """``(record, problem)`` of a stage folder: ``(None, None)`` when the stage is not built, ``(None, why)``
    when its record is missing or unreadable (an empty or cut ``status.json``)."""
    f = folder / STATUS_FILE
    if not folder.is_dir():
        return None, (f"{folder}: not a folder" if folder.exists() else None)
    try:
        text = f.read_text()
    except FileNotFoundError:
        return None, f"{f}: missing"
    except (OSError, UnicodeDecodeError) as e:
        return None, f"{f}: unreadable ({getattr(e, 'strerror', None) or type(e).__name__})"
    try:
        return StageStatus.model_validate_json(text), None
    except ValueError as e:
        return None, f"{f}: unreadable record ({'empty file' if not text.strip() else one_line(e)})"


def _lazy(rel: str, lazy: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, pattern) for pattern in lazy)


def check_files(
    folder: Path, files: Mapping[str, FileCheck], *, checksums: bool, lazy: Sequence[str] = ()
) -> str | None:
    """The first problem with the files of ``folder`` against their record, as one line naming the file;
    ``None`` when they match. Sizes are always compared; checksums too with ``checksums`` (files matching the
    ``lazy`` globs by size only)."""
    for rel, rec in files.items():
        f = folder / rel
        try:
            size = f.stat().st_size
        except FileNotFoundError:
            return f"{f}: missing"
        except OSError as e:
            return f"{f}: unreadable ({e.strerror})"
        if size != rec.size:
            return f"{f}: {size} bytes, recorded {rec.size} (truncated or replaced)"
    if checksums:
        for rel, rec in files.items():
            if _lazy(rel, lazy):
                continue
            f = folder / rel
            try:
                digest = file_digest(f)
            except OSError as e:
                return f"{f}: unreadable ({e.strerror})"
            if digest != rec.blake2b:
                return f"{f}: content differs from its recorded checksum (altered)"
    return None


# ------------------------------------------------------------------------------------------------ failures
def _source_state(filename: str) -> str:
    try:
        return file_digest(Path(filename))
    except OSError:
        return "missing"


def stage_state(status: StageStatus | None) -> str:
    """A short description of a built stage's outcome and content (``missing`` when it is not built), for
    failure fingerprints: it changes when the stage is rebuilt differently."""
    if status is None:
        return "missing"
    files = json.dumps({k: v.blake2b for k, v in (status.files or {}).items()}, sort_keys=True)
    return f"{status.status}:{hashlib.blake2b(files.encode(), digest_size=6).hexdigest()}"


def failure_fingerprint(error: BaseException | None, dependencies: Mapping[str, str]) -> dict[str, str]:
    """What a failure depended on: ``stage:<name>`` -> :func:`stage_state` of each stage it reads, and
    ``file:<path>`` -> checksum of each source file in the error's traceback (vidreason's and libraries')."""
    fingerprint = {f"stage:{name}": state for name, state in dependencies.items()}
    if error is not None:
        for frame in traceback.extract_tb(error.__traceback__):
            fingerprint.setdefault(f"file:{frame.filename}", _source_state(frame.filename))
    return fingerprint


def fingerprint_change(fingerprint: Mapping[str, str], current_stage_state: Callable[[str], str]) -> str | None:
    """What changed since a failure was recorded (``None``: nothing, so retrying would fail the same way)."""
    for item, recorded in fingerprint.items():
        kind, _, name = item.partition(":")
        if kind == "file" and _source_state(name) != recorded:
            return f"source file {name} changed"
        if kind == "stage" and current_stage_state(name) != recorded:
            return f"its input stage {name} changed"
    return None


# ------------------------------------------------------------------------------------------------ whole cache
@dataclass
class StageReport:
    """The check of one stage folder: ``state`` is ``ok``, ``damaged`` or ``unverified`` (no file records)."""

    folder: Path
    stage: str
    state: str
    problem: str | None = None
    files: int = 0
    bytes: int = 0


def verify_folder(folder: Path, lazy: Sequence[str] = ()) -> StageReport:
    """Sizes and checksums of every file of one stage folder (``lazy`` files included unless listed)."""
    stage = folder.name.rsplit("-", 1)[0]
    status, problem = read_status(folder)
    if status is None:
        return StageReport(folder, stage, "damaged", problem or f"{folder / STATUS_FILE}: missing")
    if status.files is None:
        return StageReport(folder, stage, "unverified", "no file records (built before checksums were kept)")
    problem = check_files(folder, status.files, checksums=True, lazy=lazy)
    size = sum(r.size for r in status.files.values())
    return StageReport(folder, status.name, "damaged" if problem else "ok", problem, len(status.files), size)


def stage_folders(root: Path) -> Iterable[Path]:
    """The committed stage folders of an index root (temporary folders of running builds left out)."""
    stages = root / "stages"
    return sorted(p for p in stages.iterdir() if p.is_dir() and not p.name.startswith(".")) if stages.is_dir() else []


@dataclass
class RootReport:
    """The check of one index folder: its manifest and every stage folder in it."""

    root: Path
    video: str | None
    manifest_problem: str | None
    stages: list[StageReport]

    @property
    def damaged(self) -> list[str]:
        """One line per problem (the manifest's, then each damaged stage's)."""
        out = [f"manifest: {self.manifest_problem}"] if self.manifest_problem else []
        return out + [f"stage {r.stage}: {r.problem}" for r in self.stages if r.state == "damaged"]


def verify_root(root: Path) -> RootReport:
    """Check the manifest and every file of every stage folder of one index (sizes and checksums, all files)."""
    manifest, video, problem = root / "manifest.json", None, None
    try:
        data = json.loads(manifest.read_bytes())
        video = (data.get("video") or {}).get("path") if isinstance(data, dict) else None
        if not isinstance(data, dict) or "stages" not in data:
            problem = f"{manifest}: not an index manifest"
    except FileNotFoundError:
        problem = f"{manifest}: missing"
    except (OSError, ValueError) as e:
        problem = f"{manifest}: unreadable ({one_line(e)})"
    return RootReport(root, video, problem, [verify_folder(f) for f in stage_folders(root)])


__all__ = [
    "MARKER_FILE",
    "STATUS_FILE",
    "RootReport",
    "StageReport",
    "check_files",
    "failure_fingerprint",
    "file_digest",
    "fingerprint_change",
    "read_status",
    "record_files",
    "stage_folders",
    "stage_state",
    "verify_folder",
    "verify_root",
]
