"""The default engine: Microsoft regorus, in process.

Why one engine per thread: a regorus `Engine` is a pyo3 *unsendable* class. Using it, or even
calling its `clone()`, from any thread but the one that created it panics (measured with
gordon-to-regorus 0.13.0, see ADR 0101). So no engine is shared: each thread that evaluates
builds its own from the bundle already read into memory (about 4 ms, once per thread).

Why evaluation runs on a few dedicated policy threads, not on the request's own: an engine
costs about 4 MB, and a serving process runs dozens of request threads. With an engine on
each, memory grew by the number of threads that ever asked (ADR 0020 section 18). regorus
holds the GIL while it evaluates, so two request threads never evaluated at once anyway:
handing the evaluation to `POLICY_THREADS` threads loses no parallelism and bounds the
engines a process holds to `POLICY_THREADS` per policy version. The request thread encodes
the input and waits; the policy thread only sets it and evaluates.

Why the per-thread engines live in one module-level `threading.local`, keyed by policy
version, and not on the `RegorusEngine` object: an unsendable object must also be *dropped*
on its own thread. A `threading.local` attribute of an engine object would free every
thread's regorus engine on whichever thread drops that object (pyo3 then refuses and leaks
it). Here a thread's engines are only ever freed by that thread: when it ends, or when it
evicts an old policy version from its small cache.

Why the timeout is checked after the call: regorus evaluates synchronously in Rust and offers
no way to interrupt it. An answer that arrives after the deadline is discarded and the call
fails closed; the shipped policy stays in the linear fragment, so this guards against a slow
new policy version rather than a hung one.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Generic, TypeVar, cast

import regorus

from hub.rego.bundle import DEFAULT_POLICY_DIR, PolicyBundle, PolicyFile, load_bundle
from hub.rego.engine import BatchingEngine, encode_input
from hub.rego.errors import PolicyError

_T = TypeVar("_T")


def new_regorus_engine(modules: tuple[PolicyFile, ...], data_json: str) -> Any:
    """A regorus Engine with these modules and data; PolicyError when they do not load."""
    try:
        engine = regorus.Engine()
        for module in modules:
            engine.add_policy(module.path, module.text)
        engine.add_data_json(data_json)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pyo3 panics derive from BaseException
        # the error's traceback holds this frame and may be dropped on another thread: an
        # unsendable engine must not go with it
        engine = None
        raise PolicyError(f"policy does not load into regorus: {engine_message(exc)}") from exc
    return engine


#: Per thread: policy version -> regorus Engine, most recently used last.
_THREAD_ENGINES = threading.local()

#: How many policy versions one thread keeps engines for (old ones are evicted by that thread).
VERSIONS_PER_THREAD = 4

#: How many threads of one process evaluate policy (see the module docstring).
POLICY_THREADS = 2


class _EngineCache(OrderedDict[str, Any]):
    """One thread's engines (a class of its own, so `_CACHES` can refer to it weakly)."""


#: Every live thread's engine cache, for `engines_held`. Weakly: a thread's engines must be
#: freed by that thread when it ends, not kept for the interpreter to drop on another.
_CACHES: list[weakref.ref[_EngineCache]] = []
_CACHES_LOCK = threading.Lock()


def _thread_cache() -> _EngineCache:
    cache: _EngineCache | None = getattr(_THREAD_ENGINES, "cache", None)
    if cache is None:
        cache = _EngineCache()
        _THREAD_ENGINES.cache = cache
        with _CACHES_LOCK:
            _CACHES[:] = [ref for ref in _CACHES if ref() is not None]
            _CACHES.append(weakref.ref(cache))
    return cache


def engines_held(version: str) -> int:
    """How many regorus engines this process holds now for this policy version."""
    with _CACHES_LOCK:
        caches = [ref() for ref in _CACHES]
    return sum(cache is not None and version in cache for cache in caches)


class _PolicyThreads:
    """The process's policy threads, started on first use (and again in a forked child,
    which inherits this object but not its threads).

    A queue and a lock per call rather than a `ThreadPoolExecutor`: its futures cost about
    80 us of CPU per hand-off, this about 20-30 (ADR 0020, section 18). Daemon threads, so
    they never keep a stopping process alive, but stopped and joined at exit, so each frees
    its own engines (the interpreter would drop them on its main thread). A call after that
    stop -- from an exit handler that runs later -- fails with a `PolicyError` instead of
    waiting for a thread that is gone: every call is queued under the lock the stop takes,
    so none can land behind the stop signals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._queue: _Queue | None = None
        self._stopped = False
        self._mine = threading.local()

    def run(self, work: Callable[[], _T]) -> _T:
        """`work()` on a policy thread; its value, or what it raised."""
        if getattr(self._mine, "is_policy_thread", False):
            return work()  # already on one: waiting for another could starve them
        call = _Call(work)
        self._submit(call)
        call.done.acquire()  # released by the policy thread once the outcome is set
        if call.error is not None:
            raise call.error
        return cast(_T, call.value)

    def _submit(self, call: _Call[Any]) -> None:
        """Queue `call`, starting this process's threads first if it has none yet."""
        pid = os.getpid()
        with self._lock:
            if self._stopped:
                raise PolicyError("the policy threads have stopped: the process is exiting")
            if self._queue is None or self._pid != pid:
                queue: _Queue = SimpleQueue()
                threads = [
                    threading.Thread(
                        target=self._serve, args=(queue,), name=f"vhhub-policy-{n}", daemon=True
                    )
                    for n in range(POLICY_THREADS)
                ]
                for thread in threads:
                    thread.start()
                atexit.register(self._stop, queue, threads)
                self._queue, self._pid = queue, pid
            self._queue.put(call)

    def _stop(self, queue: _Queue, threads: list[threading.Thread]) -> None:
        """At exit: refuse new calls, let the queued ones finish, stop and join the threads."""
        with self._lock:
            self._stopped = True
        for _ in threads:
            queue.put(None)  # behind every queued call: each is answered first
        for thread in threads:
            thread.join(timeout=5)

    def _serve(self, queue: _Queue) -> None:
        self._mine.is_policy_thread = True
        while True:
            call = queue.get()
            if call is None:
                return  # the process is stopping: this thread's engines go with it
            try:
                call.value = call.work()
            except BaseException as exc:  # handed to the caller, which raises it
                call.error = exc
            finally:
                call.done.release()
            del call  # nothing of it stays on this thread while it waits


class _Call(Generic[_T]):
    """One evaluation handed to a policy thread, and its outcome."""

    __slots__ = ("done", "error", "value", "work")

    def __init__(self, work: Callable[[], _T]) -> None:
        self.work = work
        self.value: _T | None = None
        self.error: BaseException | None = None
        self.done = threading.Lock()
        self.done.acquire()


#: What the policy threads take their calls from (None: stop).
_Queue = SimpleQueue[_Call[Any] | None]


_POLICY_THREADS = _PolicyThreads()


def engine_message(exc: BaseException) -> str:
    """The engine's message without its Rust backtrace: location and error, for the log."""
    lines = []
    for line in str(exc).strip().splitlines():
        if line.startswith("Stack backtrace"):
            break
        if line.strip() and set(line.strip()) - set("|^ "):
            lines.append(line.strip())
    return f"{type(exc).__name__}: {' '.join(lines[:4])}"


class RegorusEngine(BatchingEngine):
    """Embedded Rego through regorus; one regorus Engine per thread."""

    def __init__(self, policy_dir: Path = DEFAULT_POLICY_DIR, *, timeout_s: float = 2.0) -> None:
        self._bundle: PolicyBundle = load_bundle(policy_dir)
        super().__init__(self._bundle.version)
        self._timeout_s = timeout_s
        self._data_json = self._bundle.data_json()
        # load once now, so a broken policy fails at start-up, not at use (on a policy
        # thread, and only there: the engine itself never comes back to this one)
        _POLICY_THREADS.run(self._load)

    @property
    def bundle(self) -> PolicyBundle:
        return self._bundle

    def _load(self) -> None:
        self._engine()

    def _engine(self) -> Any:
        """This thread's regorus engine for this policy version, built on first use."""
        cache = _thread_cache()
        engine = cache.get(self.version)
        if engine is None:
            engine = new_regorus_engine(self._bundle.policy_modules, self._data_json)
            cache[self.version] = engine
            while len(cache) > VERSIONS_PER_THREAD:
                cache.popitem(last=False)  # dropped here, on its own thread
        cache.move_to_end(self.version)
        return engine

    def evaluate_raw(self, rule: str, input: Mapping[str, Any]) -> Any | None:
        """The rule's value for this input, None when undefined (as OPA's Data API omits it)."""
        payload = encode_input(input)
        return _POLICY_THREADS.run(lambda: self._evaluate_here(rule, payload))

    def _evaluate_here(self, rule: str, payload: str) -> Any | None:
        """On a policy thread: evaluate with that thread's engine."""
        engine = self._engine()
        started = time.perf_counter()
        try:
            engine.set_input_json(payload)
            value = engine.eval_rule(rule)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # pyo3 panics derive from BaseException
            engine = None  # dropped here, not with the error's traceback on the caller's thread
            _thread_cache().pop(self.version, None)  # never reuse an engine that failed
            raise PolicyError(f"regorus failed on {rule}: {engine_message(exc)}") from exc
        del engine  # nor with a timeout error's traceback
        elapsed = time.perf_counter() - started
        if elapsed > self._timeout_s:
            raise PolicyError(f"regorus took {elapsed:.3f}s on {rule}, over the timeout")
        return value

    def _evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        value = self.evaluate_raw(rule, input)
        if value is None:
            raise PolicyError(f"{rule} is undefined for this input")
        return value
