"""``python -m heaters`` = the ``heaters`` command."""

from heaters.cli import main

main()
