"""One error hierarchy, each carrying a message a person can act on.

The command line turns any ArchiverError into one line on stderr and its exit code;
nothing else in the library prints.
"""

from __future__ import annotations


class ArchiverError(Exception):
    """Base error: ``str(err)`` is the one line shown to the user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ArchiverError):
    """Input that can never work: malformed URL, unsupported scheme, unreadable file (exit 2)."""

    exit_code = 2


class BrowserError(ArchiverError):
    """No browser found, or the browser failed to start (exit 1)."""


class ServiceUnavailable(ArchiverError):
    """A service the run depends on (the broker, its workers) cannot be reached (exit 1):
    every other capture would fail the same way, so a watch pass stops at once."""


class CaptureError(ArchiverError):
    """A capture that failed: unreachable host, refused, timeout, redirect loop (exit 1)."""


class PageScriptError(CaptureError):
    """The user's --javascript threw or hung: the capture fails with its error (exit 2)."""

    exit_code = 2


class CaptureInterrupted(CaptureError):
    """A capture stopped by Ctrl-C or SIGTERM before it finished: nothing of it was kept."""

    exit_code = 130


class ArchiveError(ArchiverError):
    """The archive directory or its index cannot be used (exit 1)."""


class PackageError(ArchiverError):
    """A package that cannot be read as a WACZ (exit 2: unreadable input)."""

    exit_code = 2


class SigningKeyError(ArchiverError):
    """Signing key missing, unreadable, or wrong passphrase (exit 2)."""

    exit_code = 2


class TimestampError(ArchiverError):
    """A TSA could not be reached or gave an unusable answer (exit 1)."""


class SchemaError(ArchiverError):
    """A document does not match its JSON Schema (exit 1)."""
