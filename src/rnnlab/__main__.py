"""``python -m rnnlab``: the same as the ``rnnlab`` command (and what torchrun launches)."""

import sys

from rnnlab.cli import main

sys.exit(main())
