"""`python -m hypewatch` is the `hypewatch` command, for environments without the console script."""

from .cli import main

# Guarded: worker processes (forkserver/spawn) re-import the main module and
# must not run the command again.
if __name__ == "__main__":
    main()
