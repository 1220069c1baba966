# SPDX-License-Identifier: GPL-2.0-only
"""Lock-less NULL-terminated singly linked lists.

Ports include/linux/llist.h and lib/llist.c of Linux v6.17 (read at
Kingxukai/linux 0291023e, v6.17-rc).  Producers push with a cmpxchg loop on
``head.first``; a consumer takes the whole chain with one xchg.  The chain a
consumer gets is newest-first; ``llist_reverse_order`` turns it oldest-first.

The single fact the IPI paths rest on: ``llist_add`` returns true exactly
when the list was empty before the add -- the caller that sees true is the
one that must kick the consumer (raise the IPI).

Python has no container_of: a node embedded in a larger object (a CSD, an
irq_work) keeps a reference to its container in ``owner`` (not shared state,
set once at initialisation); ``llist_entry(node)`` returns it.
"""

from __future__ import annotations

from typing import Any

from ..engine import READ_ONCE, Struct, field, kfunc, try_cmpxchg, xchg

LLIST_H = "include/linux/llist.h"
LLIST_C = "lib/llist.c"


class llist_node(Struct):
    next = field(None)
    owner = field(None, shared=False)


class llist_head(Struct):
    first = field(None)


def llist_entry(node: llist_node | None) -> Any:
    """container_of() for an embedded node."""
    return None if node is None else node.owner


class llist_c:
    """Port of the llist helpers (header inlines and lib/llist.c)."""

    OWN_INITS: tuple[str, ...] = ()

    @kfunc(LLIST_H, line=216)
    def llist_empty(self, head: llist_head) -> bool:
        # A racy hint only: the answer may be stale as soon as it is read.
        return READ_ONCE(head.first) is None

    @kfunc(LLIST_H, line=234)
    def llist_add_batch(self, new_first: llist_node, new_last: llist_node, head: llist_head) -> bool:
        first = READ_ONCE(head.first)
        while True:
            new_last.next = first
            ok, first = try_cmpxchg(head, "first", first, new_first)
            if ok:
                break
        # True when the list was empty before this add.
        return first is None

    @kfunc(LLIST_H, line=263, show=True)
    def llist_add(self, new: llist_node, head: llist_head) -> bool:
        return self.llist_add_batch(new, new, head)

    @kfunc(LLIST_H, line=281, show=True)
    def llist_del_all(self, head: llist_head) -> llist_node | None:
        return xchg(head, "first", None)  # type: ignore[no-any-return]

    @kfunc(LLIST_C, line=81)
    def llist_reverse_order(self, head: llist_node | None) -> llist_node | None:
        # The chain is private to the consumer after llist_del_all(): these
        # are plain accesses to nodes no other CPU can reach.
        new_head = None
        while head is not None:
            tmp = head
            head = head.next
            tmp.next = new_head
            new_head = tmp
        return new_head

    @kfunc(LLIST_H, line=221)
    def llist_next(self, node: llist_node) -> llist_node | None:
        return node.next  # type: ignore[no-any-return]

    def init_llist_node(self, node: llist_node) -> None:
        # A node that points at itself is "not on any list".
        node.next = node

    def llist_on_list(self, node: llist_node) -> bool:
        return node.next is not node


PORT = llist_c
