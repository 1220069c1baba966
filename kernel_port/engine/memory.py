# SPDX-License-Identifier: GPL-2.0-only
"""Shared memory: structs whose fields are engine-visible, per-CPU variables.

A ported ``struct`` is a subclass of :class:`Struct` with :func:`field`
attributes.  Reading or writing a field from a CPU is one step of that CPU:
it is announced to the explorer (key = object id and field name), performed
when the explorer schedules the CPU, and shown in traces.  The same access from
the engine side (scenario set-up, final checks) is a plain Python access.

Fields declared ``shared=False`` are plain Python attributes even on a CPU:
use them only for values that never change after set-up (a work item's
function pointer), so that making them steps would add nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import core
from .core import fmt

_MISSING = object()


def building() -> core.Machine:
    m = BUILDING[0]
    if m is None:
        raise RuntimeError("kernel objects can only be created while a Machine is set up or running")
    return m


# The machine objects are being created for (set by the explorer around
# set-up and execution; one machine at a time per process).
BUILDING: list[core.Machine | None] = [None]


class field:
    """A field of a :class:`Struct`; accesses from a CPU are steps."""

    __slots__ = ("default", "factory", "name", "shared")

    def __init__(
        self,
        default: Any = None,
        *,
        factory: Callable[[], Any] | None = None,
        shared: bool = True,
    ) -> None:
        self.default = default
        self.factory = factory
        self.shared = shared
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def initial(self) -> Any:
        return self.factory() if self.factory is not None else self.default

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        cpu = core.CUR
        d = obj.__dict__
        if cpu is None or not self.shared:
            return d[self.name]
        key = (d["_oid"], self.name)
        if cpu.m.tso:
            return tso_load(cpu, key, d, self.name)
        cpu.park(((key, False),), "read")
        m = cpu.m
        reads = cpu.reads
        if key not in reads:
            reads[key] = m.version.get(key, 0)
            cpu.read_at[key] = len(m.events) - 1
        v = d[self.name]
        if m.tracing:
            m.emit(cpu, "step", f"READ {m.key_label(key)} -> {fmt(v)}")
        return v

    def __set__(self, obj: Any, value: Any) -> None:
        cpu = core.CUR
        if cpu is None or not self.shared:
            obj.__dict__[self.name] = value
            return
        d = obj.__dict__
        key = (d["_oid"], self.name)
        if cpu.m.tso:
            tso_store(cpu, key, d, self.name, value)
            return
        cpu.park(((key, True),), "write")
        m = cpu.m
        m.vals.append((key, d[self.name], value))
        d[self.name] = value
        m.stores.append(key)
        if m.tracing:
            m.emit(cpu, "step", f"WRITE {m.key_label(key)} = {fmt(value)}")


def tso_load(cpu: core.CPU, key: core.Key, d: dict[str, Any], name: str, what: str = "read") -> Any:
    """A load under x86-TSO: the newest store to the location still in the CPU's own buffer
    (store forwarding, SDM vol. 3, 8.2.3.5), else memory.  Its footprint is the CPU's alias
    of the location (Machine.tso_writes): every write reaching memory is a write of it,
    except the CPU's own stores reaching memory, which commute with its loads."""
    alias = (key[0], key[1], cpu.id)
    cpu.park(((alias, False),), what)
    m = cpu.m
    # What a spin loop read (its cpu_relax() waits for a store to it), forwarded or not: which
    # of the two it was depends on when the buffer's step ran, which this step does not order.
    reads = cpu.reads
    if key not in reads:
        reads[key] = m.version.get(key, 0)
        cpu.read_at[key] = len(m.events) - 1
    k = cpu.sb_newest(key)
    if k >= 0:
        v = cpu.sb[k][3]
        if m.tracing:
            m.emit(cpu, "step", f"READ {m.key_label(key)} -> {fmt(v)} (from CPU{cpu.id}'s store buffer)")
        return v
    v = d[name]
    if m.tracing:
        m.emit(cpu, "step", f"READ {m.key_label(key)} -> {fmt(v)}")
    return v


def tso_store(cpu: core.CPU, key: core.Key, d: dict[str, Any], name: str, value: Any, what: str = "write") -> None:
    """A store under x86-TSO: it enters the CPU's store buffer (one step writing the location
    of that buffered store); the buffer's actor takes it to memory later (Machine.step)."""

    cpu.park(((cpu.sb_next_loc(), True),), what)
    m = cpu.m
    loc = cpu.sb_store(key, d, name, value)
    m.vals.append((loc, 0, 1))
    if m.tracing:
        m.emit(cpu, "step", f"WRITE {m.key_label(key)} = {fmt(value)} (into CPU{cpu.id}'s store buffer)")


class _local_field:
    """The class attribute of a ``field(shared=False)``: a non-data descriptor, so the value in
    the instance's ``__dict__`` wins on every read and every write goes straight there.  Read
    on the class it gives the field back."""

    __slots__ = ("f",)

    def __init__(self, f: field) -> None:
        self.f = f

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self.f
        return obj.__dict__[self.f.name]


class Struct:
    """Base of ported kernel structs.  ``name`` labels the object in traces."""

    _kp_fields: tuple[field, ...] = ()
    _kp_defaults: dict[str, Any] = {}
    _kp_factories: tuple[tuple[str, Callable[[], Any]], ...] = ()
    _kp_names: frozenset[str] = frozenset()
    _kp_prepared: tuple[field, ...] | None = None

    @classmethod
    def _kp_prepare(cls) -> None:
        # What __init__ needs, computed once per class (again if a class's fields are set
        # after it was created): the plain defaults, the fields built by a factory, and the
        # names a keyword argument may set.
        fields = cls._kp_fields
        cls._kp_defaults = {f.name: f.default for f in fields if f.factory is None}
        cls._kp_factories = tuple((f.name, f.factory) for f in fields if f.factory is not None)
        cls._kp_names = frozenset(f.name for f in fields)
        cls._kp_prepared = fields

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        fields: dict[str, field] = {}
        for klass in reversed(cls.__mro__):
            for k, v in vars(klass).items():
                if isinstance(v, _local_field):
                    v = v.f
                if isinstance(v, field):
                    fields[k] = v
        cls._kp_fields = tuple(fields.values())
        # A field that is never a step lives in the instance's __dict__ only: the class keeps
        # a stand-in without __set__, so Python reads and writes it as a plain attribute
        # (what field.__get__/__set__ did for it anyway, minus two Python calls per access).
        for k, f in fields.items():
            if not f.shared and isinstance(vars(cls).get(k), field):
                setattr(cls, k, _local_field(f))

    def __init__(self, name: str | None = None, **init: Any) -> None:
        m = building()
        oid = m.new_oid()
        d = self.__dict__
        d["_oid"] = oid
        m.objs[oid] = self
        m.names[oid] = name if name is not None else f"{type(self).__name__}#{oid}"
        cls = type(self)
        if cls._kp_prepared is not cls._kp_fields:
            cls._kp_prepare()
        d.update(self._kp_defaults)
        for k, factory in self._kp_factories:
            d[k] = factory()
        if init:
            if not self._kp_names.issuperset(init):
                bad = next(k for k in init if k not in self._kp_names)
                raise TypeError(f"{type(self).__name__} has no field {bad!r}")
            d.update(init)

    @property
    def kp_name(self) -> str:
        return building().names[self.__dict__["_oid"]]

    def raw(self, name: str) -> Any:
        """The value of a field without making a step (engine side)."""
        return self.__dict__[name]

    def __repr__(self) -> str:
        m = BUILDING[0]
        if m is None:
            return f"<{type(self).__name__}>"
        return "&" + m.names.get(self.__dict__["_oid"], "?")


def key_of(obj: Struct, name: str) -> tuple[int, str]:
    """The key of one field (for event sources that read port state)."""
    return (obj.__dict__["_oid"], name)


class PerCpu:
    """A per-CPU variable: one instance per CPU, created at set-up."""

    def __init__(self, factory: Callable[..., Any], name: str) -> None:
        m = building()
        self.name = name
        self._v = [factory(name=f"{name}[{c}]") for c in range(m.ncpus)]

    def __getitem__(self, cpu: int) -> Any:
        return self._v[cpu]

    def __len__(self) -> int:
        return len(self._v)

    def __iter__(self) -> Any:
        return iter(self._v)
