"""`python -m harvester` is the `hypewatch` command, for environments without the console script."""

from .cli import main

main()
