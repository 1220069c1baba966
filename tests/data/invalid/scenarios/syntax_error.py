# SPDX-License-Identifier: GPL-2.0-only
"""A scenario module with a syntax error (line 4)."""

def broken(:
    pass
