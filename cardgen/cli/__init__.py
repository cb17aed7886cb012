"""The command line: options in, a library call, problems and an exit status out (docs/cli.md).

The commands live in `commands.py`; `demo`, `doctor` and `starter` hold what three of them do.
"""

from cardgen.cli.commands import INTERRUPTED, cli, main

__all__ = ["INTERRUPTED", "cli", "main"]
