"""One exception hierarchy for vidreason. The API raises these; the CLI prints them as one line."""

from __future__ import annotations


class VidreasonError(Exception):
    """Base class of every error vidreason raises on purpose (bad input, missing model, ...)."""


class ConfigError(VidreasonError, ValueError):
    """A setting or argument has a value that is not allowed."""


class VideoOpenError(VidreasonError):
    """The file cannot be opened or decoded as a video (missing, corrupt, truncated, not a video)."""


class NoVideoStream(VideoOpenError):
    """The file opens but holds no video stream (for example an audio-only file)."""


class StillImage(VideoOpenError):
    """The file is a still image (or a single frame without a duration), not a video: vidreason indexes videos.
    Turn an image into a video first (``ffmpeg -loop 1 -i img.png -t 5 -pix_fmt yuv420p img.mp4``)."""


class NoAudioStream(VidreasonError):
    """The video has no audio stream, or its audio stream decodes to no samples."""


class ModelUnavailable(VidreasonError):
    """A model's weights cannot be loaded (offline, not installed, unknown name). The message says how to fix it."""


class IndexError_(VidreasonError):
    """Base class for problems with a cached video index."""


class IndexNotFound(IndexError_):
    """No complete index exists for this video and these settings."""


class IndexCorrupt(IndexError_):
    """An index exists on disk but is incomplete or unreadable (for example a build that was killed)."""


class IndexLocked(IndexError_):
    """Another process holds the build lock for this index and did not finish in time."""


class StorageError(VidreasonError, OSError):
    """A cache file or folder cannot be written or read (read-only cache, full disk, a file where a folder
    should be). The message names the path and the fix."""


class CacheReadOnly(StorageError):
    """The cache cannot be written, and the command needs to build (or repair) something in it."""


class TraceStoreError(VidreasonError):
    """The trace store exists but cannot be read (damaged, locked, or not a SQLite file)."""


class InvalidQuestion(VidreasonError, ValueError):
    """A question or query is empty, too long, or otherwise not acceptable."""


class LLMError(VidreasonError):
    """Base class for LLM call failures."""


class LLMTimeout(LLMError):
    """The LLM did not answer within the configured timeout."""


class LLMTransientError(LLMError):
    """A retryable provider failure (rate limit, connection error, 5xx). Retried within ``llm_max_retries``."""


class LLMOutputInvalid(LLMError):
    """The LLM's output could not be parsed/validated into the expected schema after all retries."""


class LLMFormatUnsupported(LLMError):
    """The server rejected the requested structured-output form (e.g. ``json_schema`` on llama-cpp-python)."""


class LLMNotConfigured(LLMError):
    """No LLM is configured (set VIDREASON_LLM), or real calls are forbidden (tests)."""


class DatasetError(VidreasonError):
    """An annotation file is missing or malformed, or a dataset name is unknown."""


class TraceNotFound(VidreasonError):
    """No stored trace has this id."""


def one_line(error: BaseException) -> str:
    """A one-line description of ``error``: for pydantic validation errors the count and the first error
    (field and message, never the input), else the first line of the message."""
    errors = getattr(error, "errors", None)
    if callable(errors) and hasattr(error, "error_count"):
        try:
            first = errors(include_input=False, include_url=False)[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "value"
            return f"{error.error_count()} invalid field(s), first {where}: {first.get('msg', 'invalid')}"
        except (TypeError, IndexError, KeyError):
            pass
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


__all__ = [
    "CacheReadOnly",
    "ConfigError",
    "DatasetError",
    "IndexCorrupt",
    "IndexError_",
    "IndexLocked",
    "IndexNotFound",
    "InvalidQuestion",
    "LLMError",
    "LLMFormatUnsupported",
    "LLMNotConfigured",
    "LLMOutputInvalid",
    "LLMTimeout",
    "LLMTransientError",
    "ModelUnavailable",
    "NoAudioStream",
    "NoVideoStream",
    "StillImage",
    "StorageError",
    "TraceNotFound",
    "TraceStoreError",
    "VideoOpenError",
    "VidreasonError",
    "one_line",
]
