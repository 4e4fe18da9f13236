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


__all__ = [
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
    "TraceNotFound",
    "VideoOpenError",
    "VidreasonError",
]
