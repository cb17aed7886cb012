"""`python -m cardgen` runs the command-line interface."""

import os
import sys

from cardgen.cli.commands import INTERRUPTED, main

try:
    main()
except SystemExit as exit_:
    if exit_.code == INTERRUPTED:
        # Under `-m`, CPython turns the exit into death by SIGINT when the Ctrl-C landed
        # in string-evaluated code (cssselect2 compiles selectors with eval), whatever
        # the status: the run has cleaned up, so leave with the status the CLI promises.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    raise
