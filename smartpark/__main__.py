"""Allow ``python -m smartpark``."""

import sys

from smartpark.cli import main

sys.exit(main())
