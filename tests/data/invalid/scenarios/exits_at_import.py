# SPDX-License-Identifier: GPL-2.0-only
"""A scenario module that calls sys.exit(0) when it is imported (line 6)."""

import sys

sys.exit(0)
