#!/usr/bin/env python
"""liqoctl v1.0.3 stand-in for the collection's tests; see README.md in this directory."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from liqoctl_standin.cli import main  # noqa: E402 - the package sits next to this script

if __name__ == "__main__":
    sys.exit(main())
