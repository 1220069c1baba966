# SPDX-License-Identifier: GPL-2.0-only
"""kernel_port: faithful Python ports of Linux IPI / irq_work / vector / RT-push
code on a deterministic SMP machine, with a patch-evaluation corpus."""

__version__ = "0.1.0"
