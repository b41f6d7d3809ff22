"""`python -m hookpool` runs the control script, as the `hookpool` command does."""

from .control.cli import main

main()
