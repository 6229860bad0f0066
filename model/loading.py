"""Loading a model once, lazily, under a lock; and one instance per process per set of arguments.

``InferenceModel`` is the base of every backend: constructing one loads nothing; the first call
that needs the model calls ``load()``, which runs the subclass's ``_load()`` once per instance
under the instance's lock (threads that ask at the same time wait for that one load) and keeps
what it returns. Subclasses implement ``_load()`` and their own predict methods, which start
with ``self.load()``. Each backend declares ``threads``: the intra-op threads its runtime is
given (None: the runtime's own default).

``per_process`` turns a factory into one that builds one instance per distinct arguments in a
process, also when several threads ask at once.
"""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from typing import Generic, ParamSpec, TypeVar

Loaded = TypeVar("Loaded")
P = ParamSpec("P")
R = TypeVar("R")


class InferenceModel(ABC, Generic[Loaded]):
    """A backend whose model loads on first use (see module doc)."""

    name: str
    threads: int | None

    def __init__(self, threads: int | None = 1) -> None:
        self.threads = None if threads is None else max(1, int(threads))
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None

    @abstractmethod
    def _load(self) -> Loaded:
        """Load the model (and whatever runs it) and return it; called once, under the lock."""

    def load(self) -> Loaded:
        """What ``_load`` returned, loading it first when this instance has not."""
        loaded = self._loaded
        if loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
                loaded = self._loaded
        return loaded

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None


class PerProcess(Generic[P, R]):
    """A factory that builds one ``R`` per distinct (hashable) arguments in this process."""

    def __init__(self, build: Callable[P, R]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._built: dict[tuple[Hashable, ...], R] = {}
        functools.update_wrapper(self, build)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = (*args, *sorted(kwargs.items()))
        with self._lock:
            if key not in self._built:
                self._built[key] = self._build(*args, **kwargs)
            return self._built[key]

    def clear(self) -> None:
        """Forget every instance built (as a new process would start)."""
        with self._lock:
            self._built.clear()


def per_process(build: Callable[P, R]) -> PerProcess[P, R]:
    """Decorate a factory so that it builds one instance per distinct arguments per process."""
    return PerProcess(build)
