"""RFC 6962 / RFC 9162 Merkle tree maths for the access log: pure functions, no storage.

Why a separate, pure module (docs/principles.md section 5, after
transparency-dev/tessera): the hashing
and the proof algorithms are what an outside auditor re-implements to check us, so they must
be exactly the standard ones, testable with published vectors, and free of any database or
clock. The appender (`hub/audit/log.py`) and the offline verifier (`hub/audit/verify.py`) both
build on this module and nothing here knows about either.

Hashing (RFC 9162 section 2.1.1), SHA-256 throughout:

- ``leaf_hash(d) = SHA-256(0x00 || d)``, ``node_hash(l, r) = SHA-256(0x01 || l || r)``
- the root of the empty tree is ``SHA-256("")``
- a tree of ``n > 1`` leaves splits at ``k``, the largest power of two smaller than ``n``:
  ``MTH(D[n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))``.

The distinct prefixes keep a leaf from ever being passed off as an inner node
(second-preimage protection).

Costs: appending through `CompactRange` is O(1) amortised hashing and O(log n) state. Proofs
need the hashes of O(log n) subtrees; computed from leaf hashes (`subtree_hasher_from_leaves`)
that costs O(n) hashing and leaf reads in the worst case. A store that keeps perfect-subtree
hashes (tiles) can plug in its own `SubtreeHasher` and make proofs O(log n) without changing
the callers; see docs/adr/0401-access-log-format.md.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "LeafHashFetcher",
    "ProofError",
    "SubtreeHasher",
    "consistency_proof",
    "consistency_proof_with",
    "inclusion_proof",
    "inclusion_proof_with",
    "inclusion_proofs_from_leaves",
    "leaf_hash",
    "node_hash",
    "root",
    "subtree_hasher_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_MAX_TREE_SIZE: Final = (1 << 64) - 1  # sizes travel as uint64 (checkpoints, RFC 9162)

#: Returns MTH(D[start:end]) -- the root of the subtree over leaves start..end-1.
SubtreeHasher = Callable[[int, int], bytes]
#: Returns the stored leaf hashes for positions start..end-1, in order, exactly end-start.
LeafHashFetcher = Callable[[int, int], Sequence[bytes]]


class ProofError(Exception):
    """A proof does not show what it claims, or its inputs are malformed.

    Messages name sizes and indices only, never hashes or entry content.
    """


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf's data (0x00 prefix)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an inner node from its children's hashes (0x01 prefix)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): RFC 6962's split."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(f"{name} must be an integer")
    if not 0 <= value <= _MAX_TREE_SIZE:
        raise ProofError(f"{name} out of range")


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} must be a {HASH_SIZE}-byte hash")


class CompactRange:
    """The frontier of a growing tree: the roots of its perfect subtrees, left to right.

    Why: the appender must extend the tree and produce the new root on every write without
    reading old leaves. A tree of size ``n`` is the concatenation of perfect subtrees, one per
    set bit of ``n`` (largest first), so these ``popcount(n)`` hashes are all the state an
    append needs. The appender stores them beside the log head (`to_json`, `to_bytes`,
    `hex_hashes`) and the offline verifier streams a million entries through one instance.
    """

    __slots__ = ("_hashes", "_size")

    _BYTES_VERSION: Final = 1

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        _check_size("size", size)
        frontier = list(hashes)
        if len(frontier) != size.bit_count():
            raise ProofError("a compact range of this size needs one hash per set bit")
        for h in frontier:
            _check_hash("frontier hash", h)
        self._size = size
        self._hashes = frontier

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> CompactRange:
        cr = cls()
        cr.extend(leaf_hashes)
        return cr

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots, largest (leftmost) first."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash at position `size`."""
        _check_hash("leaf hash", leaf)
        if self._size == _MAX_TREE_SIZE:
            raise ProofError("tree is full")
        node = leaf
        size = self._size
        hashes = self._hashes
        # Each trailing 1-bit of the old size is a perfect subtree the new leaf now completes.
        while size & 1:
            node = node_hash(hashes.pop(), node)
            size >>= 1
        hashes.append(node)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for leaf in leaf_hashes:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of all leaves so far; the empty tree's root is SHA-256("")."""
        if not self._hashes:
            return EMPTY_ROOT
        it = reversed(self._hashes)
        acc = next(it)
        for h in it:
            acc = node_hash(h, acc)
        return acc

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._hashes)

    # -- persistence ---------------------------------------------------------------------

    def hex_hashes(self) -> list[str]:
        """The frontier as lower-case hex strings (the `LogHead.frontier` column)."""
        return [h.hex() for h in self._hashes]

    @classmethod
    def from_hex(cls, size: int, hex_hashes: Sequence[str]) -> CompactRange:
        """Rebuild from `size` and `hex_hashes()`; refuses anything that is not exact."""
        hashes: list[bytes] = []
        for text in hex_hashes:
            if not isinstance(text, str) or len(text) != 2 * HASH_SIZE or text != text.lower():
                raise ProofError("frontier hashes must be 64 lower-case hex digits")
            try:
                hashes.append(bytes.fromhex(text))
            except ValueError:
                raise ProofError("frontier hashes must be 64 lower-case hex digits") from None
        return cls(size, hashes)

    def to_json(self) -> dict[str, Any]:
        """``{"size": n, "hashes": [hex, ...]}``: JSON-safe, exact round trip."""
        return {"size": self._size, "hashes": self.hex_hashes()}

    @classmethod
    def from_json(cls, obj: Any) -> CompactRange:
        if not isinstance(obj, dict) or set(obj) != {"size", "hashes"}:
            raise ProofError("a compact range is an object with exactly 'size' and 'hashes'")
        size, hashes = obj["size"], obj["hashes"]
        if not isinstance(hashes, list):
            raise ProofError("'hashes' must be a list")
        _check_size("size", size)
        return cls.from_hex(size, hashes)

    def to_bytes(self) -> bytes:
        """version (1) || size (8, big-endian) || hashes (32 each)."""
        return struct.pack(">BQ", self._BYTES_VERSION, self._size) + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        if len(data) < 9:
            raise ProofError("compact range bytes too short")
        version, size = struct.unpack(">BQ", data[:9])
        if version != cls._BYTES_VERSION:
            raise ProofError("unknown compact range encoding version")
        body = data[9:]
        if len(body) != HASH_SIZE * size.bit_count():
            raise ProofError("compact range bytes have the wrong length for their size")
        return cls(size, [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the given leaf hashes (RFC 6962 section 2.1); O(n) time, O(log n) memory."""
    return CompactRange.from_leaf_hashes(leaf_hashes).root()


# -- proof generation ----------------------------------------------------------------------


def _sequence_hasher(leaf_hashes: Sequence[bytes]) -> SubtreeHasher:
    def subtree(start: int, end: int) -> bytes:
        return root(leaf_hashes[start:end])

    return subtree


def subtree_hasher_from_leaves(
    get_leaf_hashes: LeafHashFetcher, *, batch_size: int = 4096
) -> SubtreeHasher:
    """A `SubtreeHasher` that reads stored leaf hashes through a callback, in batches.

    Why: the appender keeps every leaf hash in its table but not the inner nodes; this lets
    it produce proofs with range queries of at most `batch_size` rows and O(log n) memory.
    A proof's subtrees are disjoint, so one proof reads each leaf at most once: O(n).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")

    def subtree(start: int, end: int) -> bytes:
        cr = CompactRange()
        pos = start
        while pos < end:
            stop = min(end, pos + batch_size)
            batch = get_leaf_hashes(pos, stop)
            if len(batch) != stop - pos:
                raise ProofError("leaf store returned the wrong number of leaf hashes")
            cr.extend(batch)
            pos = stop
        return cr.root()

    return subtree


def inclusion_proof_with(index: int, tree_size: int, subtree: SubtreeHasher) -> list[bytes]:
    """PATH(index, D[0:tree_size]) of RFC 6962 section 2.1.1, from any subtree hasher."""
    _check_size("tree_size", tree_size)
    _check_size("index", index)
    if index >= tree_size:
        raise ProofError("index must be smaller than the tree size")
    proof: list[bytes] = []
    # Walk down from the root; siblings are collected top-down and returned bottom-up.
    start, n, m = 0, tree_size, index
    while n > 1:
        k = _split(n)
        if m < k:
            proof.append(subtree(start + k, start + n))
            n = k
        else:
            proof.append(subtree(start, start + k))
            start, n, m = start + k, n - k, m - k
    proof.reverse()
    return proof


def _sibling_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The (start, end) leaf ranges whose subtree hashes make PATH(index, D[0:tree_size]),
    in proof order (bottom-up): the same walk as `inclusion_proof_with`."""
    ranges: list[tuple[int, int]] = []
    start, n, m = 0, tree_size, index
    while n > 1:
        k = _split(n)
        if m < k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, n, m = start + k, n - k, m - k
    ranges.reverse()
    return ranges


def inclusion_proofs_from_leaves(
    indices: Iterable[int],
    tree_size: int,
    get_leaf_hashes: LeafHashFetcher,
    *,
    chunk: int = 4096,
) -> tuple[dict[int, list[bytes]], bytes]:
    """Inclusion proofs of many leaves in one tree, and that tree's root, in one pass.

    Why: a data-subject report proves thousands of entries against one checkpoint. Proving
    them one by one re-reads and re-hashes the big subtrees every proof shares (O(n) each);
    here every stored leaf hash is read once, in aligned ranges of `chunk` (a power of two),
    and every inner node is hashed once: O(n) for all proofs together, memory O(chunk) plus
    the proofs themselves. Every subtree a proof needs is a node of the RFC 6962 tree of
    `tree_size` leaves, so one walk over that tree meets them all. The root lets the caller
    check the stored leaves against a signed checkpoint before handing out any proof.
    """
    _check_size("tree_size", tree_size)
    if chunk < 1 or chunk & (chunk - 1):
        raise ValueError("chunk must be a power of two")
    wanted = sorted(set(indices))
    for index in wanted:
        _check_size("index", index)
        if index >= tree_size:
            raise ProofError("index must be smaller than the tree size")
    if tree_size == 0:
        return {}, EMPTY_ROOT
    plans = {index: _sibling_ranges(index, tree_size) for index in wanted}
    # needed nodes, by the aligned chunk they lie in (perfect ones up to `chunk` leaves)
    small: dict[int, list[tuple[int, int]]] = {}
    large: set[tuple[int, int]] = {(0, tree_size)}
    for ranges in plans.values():
        for start, end in ranges:
            if end - start <= chunk and (end - start) & (end - start - 1) == 0:
                small.setdefault(start // chunk, []).append((start, end))
            else:
                large.add((start, end))
    found: dict[tuple[int, int], bytes] = {}
    sha = hashlib.sha256

    def perfect(start: int, n: int) -> bytes:
        leaves = list(get_leaf_hashes(start, start + n))
        if len(leaves) != n:
            raise ProofError("leaf store returned the wrong number of leaf hashes")
        # n leaf hashes of 32 bytes each, checked at C speed (join refuses non-bytes)
        try:
            joined = b"".join(leaves)
        except TypeError:
            raise ProofError(f"leaf hashes must be {HASH_SIZE}-byte hashes") from None
        if len(joined) != HASH_SIZE * n or set(map(len, leaves)) != {HASH_SIZE}:
            raise ProofError(f"leaf hashes must be {HASH_SIZE}-byte hashes")
        inside = [r for r in small.get(start // chunk, ()) if start <= r[0] and r[1] <= start + n]
        level, width = leaves, 1
        while True:
            for r in inside:
                if r[1] - r[0] == width:
                    found[r] = level[(r[0] - start) // width]
            if len(level) == 1:
                return level[0]
            level = [
                sha(_NODE_PREFIX + left + right).digest()
                for left, right in zip(level[0::2], level[1::2], strict=True)
            ]
            width *= 2

    def node(start: int, n: int) -> bytes:
        if n <= chunk and n & (n - 1) == 0:
            return perfect(start, n)
        k = n >> 1 if n & (n - 1) == 0 else _split(n)
        value = node_hash(node(start, k), node(start + k, n - k))
        if (start, start + n) in large:
            found[(start, start + n)] = value
        return value

    root_hash = node(0, tree_size)
    found[(0, tree_size)] = root_hash
    return {index: [found[r] for r in ranges] for index, ranges in plans.items()}, root_hash


def consistency_proof_with(old_size: int, new_size: int, subtree: SubtreeHasher) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 6962 section 2.1.2, from any subtree hasher.

    Empty when ``old_size`` is 0 or equal to ``new_size``: those are consistent by definition.
    """
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise ProofError("old_size must not exceed new_size")
    if old_size == 0 or old_size == new_size:
        return []
    proof: list[bytes] = []
    start, n, m, whole = 0, new_size, old_size, True
    # SUBPROOF(m, D[start:start+n], whole), unrolled; nodes are collected top-down.
    while m != n:
        k = _split(n)
        if m <= k:
            proof.append(subtree(start + k, start + n))
            n = k
        else:
            proof.append(subtree(start, start + k))
            start, n, m, whole = start + k, n - k, m - k, False
    if not whole:
        proof.append(subtree(start, start + n))
    proof.reverse()
    return proof


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The inclusion proof of leaf `index` in the tree of all `leaf_hashes`."""
    return inclusion_proof_with(index, len(leaf_hashes), _sequence_hasher(leaf_hashes))


def consistency_proof(old_size: int, new_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The proof that the tree of size `old_size` is a prefix of the one of size `new_size`."""
    if new_size > len(leaf_hashes):
        raise ProofError("new_size exceeds the number of leaf hashes given")
    return consistency_proof_with(old_size, new_size, _sequence_hasher(leaf_hashes))


# -- proof verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) ---------------------------


def verify_inclusion(
    index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Return if `proof` shows `leaf_hash` at `index` in the tree with `root`; else raise."""
    _check_size("index", index)
    _check_size("tree_size", tree_size)
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    for p in proof:
        _check_hash("proof element", p)
    if index >= tree_size:
        raise ProofError("index must be smaller than the tree size")
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Return if `proof` shows the old tree is a prefix of the new one; else raise.

    Beyond RFC 9162 (which covers ``0 < old_size < new_size``): equal sizes need an empty
    proof and equal roots; ``old_size == 0`` needs an empty proof and the empty-tree root.
    """
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    for p in proof:
        _check_hash("proof element", p)
    if old_size > new_size:
        raise ProofError("old_size must not exceed new_size")
    if old_size == new_size or old_size == 0:
        if proof:
            raise ProofError("consistency proof must be empty for these sizes")
        expected_old = new_root if old_size == new_size else EMPTY_ROOT
        if old_root != expected_old:
            raise ProofError("roots are not consistent")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root or sr != new_root:
        raise ProofError("consistency proof does not lead to the roots")
