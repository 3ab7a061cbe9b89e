"""The default engine: Microsoft regorus, in process.

Why one engine per thread: a regorus `Engine` is a pyo3 *unsendable* class. Using it, or even
calling its `clone()`, from any thread but the one that created it panics (measured with
gordon-to-regorus 0.13.0, see ADR 0101). So no engine is shared: each thread that asks builds
its own from the bundle already read into memory (about 4 ms, once per thread).

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

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import regorus

from hub.rego.bundle import DEFAULT_POLICY_DIR, PolicyBundle, PolicyFile, load_bundle
from hub.rego.engine import BatchingEngine, encode_input
from hub.rego.errors import PolicyError


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
        raise PolicyError(f"policy does not load into regorus: {engine_message(exc)}") from exc
    return engine


#: Per thread: policy version -> regorus Engine, most recently used last.
_THREAD_ENGINES = threading.local()

#: How many policy versions one thread keeps engines for (old ones are evicted by that thread).
VERSIONS_PER_THREAD = 4


def _thread_cache() -> OrderedDict[str, Any]:
    cache: OrderedDict[str, Any] | None = getattr(_THREAD_ENGINES, "cache", None)
    if cache is None:
        cache = OrderedDict()
        _THREAD_ENGINES.cache = cache
    return cache


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
        self._engine()  # load once now, so a broken policy fails at start-up, not at use

    @property
    def bundle(self) -> PolicyBundle:
        return self._bundle

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
        engine = self._engine()
        started = time.perf_counter()
        try:
            engine.set_input_json(payload)
            value = engine.eval_rule(rule)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # pyo3 panics derive from BaseException
            _thread_cache().pop(self.version, None)  # never reuse an engine that failed
            raise PolicyError(f"regorus failed on {rule}: {engine_message(exc)}") from exc
        elapsed = time.perf_counter() - started
        if elapsed > self._timeout_s:
            raise PolicyError(f"regorus took {elapsed:.3f}s on {rule}, over the timeout")
        return value

    def _evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        value = self.evaluate_raw(rule, input)
        if value is None:
            raise PolicyError(f"{rule} is undefined for this input")
        return value
