"""The control script: the operator's commands, as one click group (see cli.py)."""
