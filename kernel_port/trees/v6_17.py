# SPDX-License-Identifier: GPL-2.0-only
"""Tree v6.17: mainline, the default.  Where each file was read: see docs/sources.md."""

from ..linux import Linux
from ..variants import Tree

TREE = Tree(
    name="v6.17",
    cls=Linux,
    title="mainline Linux v6.17 (the pinned default)",
    pinned="v6.17 (sources read at v6.17-rc snapshots; see docs/sources.md)",
)
