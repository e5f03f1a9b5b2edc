"""Errors that reach the user as one clean line: what failed, which thing, and why."""


class KillahError(Exception):
    """A failure the user can act on. The command line prints str(e) alone, no traceback."""


class ModelNotFound(KillahError):
    pass


class ModelConversionError(KillahError):
    pass


class AdapterMismatch(KillahError):
    pass
