"""``python -m ringscope.cli``."""

import sys

from ringscope.cli import main

sys.exit(main())
