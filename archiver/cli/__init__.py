"""The ``archiver`` command line: parse options, call one library function, render.

One module per family of commands; each registers its commands on the ``cli``
group from ``base``. Every expected failure is an ArchiverError, which ``main``
turns into one line on stderr and its exit code (2 bad usage or unreadable input,
1 failed).
"""

from . import archive, capture, compare, keys, verify, watch, web  # noqa: F401  (registers)
from .base import cli, main
from .queue import jobs, worker

cli.add_command(worker)
cli.add_command(jobs)

__all__ = ["cli", "main"]
