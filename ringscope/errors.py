"""User-facing errors: each carries one clear line the CLI prints without a traceback."""


class RingscopeError(Exception):
    """Base class for errors a user can act on (bad input, bad config, missing file)."""


class ConfigError(RingscopeError):
    """Configuration is missing or invalid."""


class InputError(RingscopeError):
    """An input path or file cannot be read as events."""


class RejectRateExceeded(RingscopeError):
    """Too many input records were rejected; the run refuses to publish a snapshot."""


class SnapshotError(RingscopeError):
    """A snapshot is missing, incomplete or of an unknown format."""


class SnapshotDataError(SnapshotError):
    """A snapshot file is there but cannot be read (truncated, corrupt): never serve it."""
