"""`python -m runwatch.engine serve|deploy ...`: the engine's commands without the full CLI."""

import sys

from runwatch.engine.commands import main

sys.exit(main())
