"""``python -m archiver.cli``: the same as the ``archiver`` command."""

from . import main

main()
