"""Errors that reach the user as one clean line: what failed, which thing, and why."""


class KillahError(Exception):
    """A failure the user can act on. The command line prints str(e) alone, no traceback."""


class ModelNotFound(KillahError):
    pass


class ModelConversionError(KillahError):
    pass


class AdapterMismatch(KillahError):
    pass


class PromptTooLong(KillahError):
    """The prompt and the tokens asked for do not fit the model's context."""


class TooManyCandidates(KillahError):
    """More candidates at once than the generator's bound."""
