# SPDX-License-Identifier: GPL-2.0-only
"""Trees: mainline and older states of the modelled functions (one module each)."""
