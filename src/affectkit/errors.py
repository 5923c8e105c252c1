"""Exceptions with messages meant for users. Whole-job errors exit non-zero from the CLI."""


class AffectkitError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""

    exit_code = 1  # the CLI's exit status when this error ends a job


class UnknownLabelSetError(AffectkitError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownModelError(AffectkitError):
    pass


class InputError(AffectkitError):
    """The input as a whole cannot be read (missing file or column, unknown format)."""


class InputTooLarge(InputError):
    """The input is over a limit on rows or bytes that the caller set (the service's per-request limits); found
    before the rows are read where the file says its size (Parquet metadata), else while reading."""


class ModelFormatError(AffectkitError):
    """A model folder is missing files or has an invalid config."""


class IncompleteJobError(AffectkitError):
    """Some partitions of a job failed (each is reported with its path and reason); the others were written.
    Rerunning the same command retries only what is missing."""

    exit_code = 3


class OutputLockedError(AffectkitError):
    """Another job is writing the same output (it holds the output's lock file)."""


class RowErrorsError(AffectkitError):
    """The output was written, but too many of its rows carry an error: every row (exit status 1, the job failed
    as a whole), or a share over ``--max-error-rate`` (exit status 3, like an incomplete job)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
