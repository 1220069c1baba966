# SPDX-License-Identifier: GPL-2.0-only
"""The deterministic SMP machine and its explorer.

This package never imports ported kernel code (a test enforces it).  Ported
code imports the kernel-named primitives from here.
"""

from . import primitives as _primitives
from .core import CPU, HARDIRQ_OFFSET, NMI_VECTOR, SOFTIRQ_OFFSET, Machine
from .errors import (
    KernelBUG,
    KernelViolation,
    KernelWARN,
    KportError,
    SleepingInAtomic,
    TokenError,
    UsageError,
)
from .execution import Outcome, Program, SimpleProgram
from .kfunc import kfunc
from .locks import (
    raw_spin_lock,
    raw_spin_lock_irq,
    raw_spin_lock_irqsave,
    raw_spin_trylock,
    raw_spin_unlock,
    raw_spin_unlock_irq,
    raw_spin_unlock_irqrestore,
    raw_spinlock_t,
    spin_lock,
    spin_lock_irqsave,
    spin_unlock,
    spin_unlock_irqrestore,
    spinlock_t,
)
from .memory import PerCpu, Struct, field, key_of
from .primitives import *
from .tasks import (
    IDLE_PRIO,
    NORMAL_PRIO,
    RESCHEDULE_VECTOR,
    TASK_INTERRUPTIBLE,
    TASK_RUNNING,
    TASK_UNINTERRUPTIBLE,
    Task,
    current_task,
    kthread_create_on_cpu,
    rt_prio,
    schedule,
    set_current_state,
    wake_up_process,
)

__all__ = [
    "CPU",
    "HARDIRQ_OFFSET",
    "NMI_VECTOR",
    "SOFTIRQ_OFFSET",
    "KernelBUG",
    "KernelViolation",
    "KernelWARN",
    "KportError",
    "Machine",
    "Outcome",
    "PerCpu",
    "Program",
    "SimpleProgram",
    "SleepingInAtomic",
    "Struct",
    "TokenError",
    "UsageError",
    "field",
    "key_of",
    "kfunc",
    "raw_spin_lock",
    "raw_spin_lock_irq",
    "raw_spin_lock_irqsave",
    "raw_spin_trylock",
    "raw_spin_unlock",
    "raw_spin_unlock_irq",
    "raw_spin_unlock_irqrestore",
    "raw_spinlock_t",
    "spin_lock",
    "spin_lock_irqsave",
    "spin_unlock",
    "spin_unlock_irqrestore",
    "spinlock_t",
    "IDLE_PRIO",
    "NORMAL_PRIO",
    "RESCHEDULE_VECTOR",
    "TASK_INTERRUPTIBLE",
    "TASK_RUNNING",
    "TASK_UNINTERRUPTIBLE",
    "Task",
    "current_task",
    "kthread_create_on_cpu",
    "rt_prio",
    "schedule",
    "set_current_state",
    "wake_up_process",
    *_primitives.__all__,
]
