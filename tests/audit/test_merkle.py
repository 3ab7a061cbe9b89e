"""The Merkle core agrees with RFC 6962 and every other implementation, and proofs cannot lie.

Known answers are the Certificate Transparency test vectors published in
transparency-dev/merkle (testonly/constants.go, proof/verify_test.go). A deliberately naive,
recursive re-implementation of RFC 6962 section 2.1 written straight from the RFC text
cross-checks everything else on random trees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.audit import merkle
from hub.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    consistency_proof_with,
    inclusion_proof,
    inclusion_proof_with,
    leaf_hash,
    node_hash,
    root,
    subtree_hasher_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# -- known answers ---------------------------------------------------------------------------

CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_LEAF_HASHES = [leaf_hash(d) for d in CT_LEAVES]
CT_ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


# Node hashes per level of the 8-leaf tree (testonly/constants.go NodeHashes).
CT_NODES = [
    [
        _h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        _h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        _h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        _h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        _h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        _h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        _h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        _h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        _h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        _h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        _h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        _h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        _h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        _h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [_h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# (leaf index, tree size, proof) -- proof/verify_test.go, with 0-based indices.
CT_INCLUSION = [
    (
        0,
        8,
        [
            _h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            _h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            _h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            _h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            _h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [_h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            _h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            _h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (0, 1, []),
]

# (old size, new size, proof) -- proof/verify_test.go.
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            _h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            _h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            _h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            _h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            _h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            _h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            _h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            _h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            _h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]


# -- an independent, naive reference straight from RFC 6962 section 2.1 ----------------------


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, leaves[:k], b), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


leaf_data = st.lists(st.binary(max_size=12), min_size=1, max_size=70)
# Distinct leaves: with two equal leaves, "leaf 1 is at position 0" is simply true.
distinct_leaf_data = st.lists(st.binary(max_size=12), min_size=1, max_size=70, unique=True)


# -- known-answer tests ----------------------------------------------------------------------


def test_roots_match_the_published_rfc6962_vectors() -> None:
    for size, expected in enumerate(CT_ROOTS):
        assert root(CT_LEAF_HASHES[:size]) == expected
        assert ref_mth(CT_LEAVES[:size]) == expected


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert CompactRange().root() == EMPTY_ROOT


def test_leaf_and_node_hashes_use_distinct_prefixes() -> None:
    assert leaf_hash(b"") == CT_ROOTS[1]
    assert node_hash(CT_LEAF_HASHES[0], CT_LEAF_HASHES[1]) == CT_ROOTS[2]
    assert leaf_hash(CT_LEAF_HASHES[0] + CT_LEAF_HASHES[1]) != CT_ROOTS[2]


def test_compact_range_matches_published_frontiers() -> None:
    nh = CT_NODES
    expected = [
        [],
        [nh[0][0]],
        [nh[1][0]],
        [nh[1][0], nh[0][2]],
        [nh[2][0]],
        [nh[2][0], nh[0][4]],
        [nh[2][0], nh[1][2]],
        [nh[2][0], nh[1][2], nh[0][6]],
        [nh[3][0]],
    ]
    cr = CompactRange()
    assert list(cr.hashes) == expected[0]
    for size, leaf in enumerate(CT_LEAF_HASHES, start=1):
        cr.append(leaf)
        assert list(cr.hashes) == expected[size]
        assert cr.root() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_inclusion_proofs_match_published_vectors(
    index: int, size: int, proof: list[bytes]
) -> None:
    assert inclusion_proof(index, CT_LEAF_HASHES[:size]) == proof
    verify_inclusion(index, size, CT_LEAF_HASHES[index], proof, CT_ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_consistency_proofs_match_published_vectors(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, new, CT_LEAF_HASHES) == proof
    verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], proof)


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in CT_INCLUSION if v[2]])
def test_corrupted_published_inclusion_proofs_fail(
    index: int, size: int, proof: list[bytes]
) -> None:
    good_root, leaf = CT_ROOTS[size], CT_LEAF_HASHES[index]
    some_hash = _h("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes: list[tuple[int, int, bytes, list[bytes], bytes]] = [
        (index + 1, size, leaf, proof, good_root),
        (index ^ 2, size, leaf, proof, good_root),
        (index, size * 2, leaf, proof, good_root),
        (index, size // 2, leaf, proof, good_root),
        (index, size, some_hash, proof, good_root),
        (index, size, leaf, proof, EMPTY_ROOT),
        (index, size, leaf, [*proof, good_root], good_root),
        (index, size, leaf, [good_root, *proof], good_root),
        (index, size, leaf, proof[:-1], good_root),
        (index, size, leaf, [proof[0], some_hash, *proof[1:]], good_root),
    ]
    if index > 0:
        probes.append((index - 1, size, leaf, proof, good_root))
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = flip(bad[i], 3)
        probes.append((index, size, leaf, bad, good_root))
    for p_index, p_size, p_leaf, p_proof, p_root in probes:
        with pytest.raises(ProofError):
            verify_inclusion(p_index, p_size, p_leaf, p_proof, p_root)


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CT_CONSISTENCY if v[2]])
def test_corrupted_published_consistency_proofs_fail(
    old: int, new: int, proof: list[bytes]
) -> None:
    r1, r2 = CT_ROOTS[old], CT_ROOTS[new]
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, r2, r1, proof),
        (old, new, EMPTY_ROOT, r2, proof),
        (old, new, r1, EMPTY_ROOT, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = flip(bad[i], 4)
        probes.append((old, new, r1, r2, bad))
    for p_old, p_new, p_r1, p_r2, p_proof in probes:
        if p_old < 0:
            continue
        with pytest.raises(ProofError):
            verify_consistency(p_old, p_new, p_r1, p_r2, p_proof)


# -- properties ------------------------------------------------------------------------------


@given(leaf_data)
def test_root_agrees_with_the_naive_reference(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    assert root(hashes) == ref_mth(data)


@given(leaf_data, st.data())
def test_every_inclusion_proof_verifies_and_matches_the_reference(
    data: list[bytes], draw: st.DataObject
) -> None:
    hashes = [leaf_hash(d) for d in data]
    index = draw.draw(st.integers(0, len(data) - 1))
    proof = inclusion_proof(index, hashes)
    assert proof == ref_path(index, data)
    verify_inclusion(index, len(hashes), hashes[index], proof, root(hashes))


@given(leaf_data, st.data())
def test_every_consistency_proof_verifies_and_matches_the_reference(
    data: list[bytes], draw: st.DataObject
) -> None:
    hashes = [leaf_hash(d) for d in data]
    new = draw.draw(st.integers(1, len(data)))
    old = draw.draw(st.integers(1, new))
    proof = consistency_proof(old, new, hashes)
    assert proof == ref_subproof(old, data[:new], True)
    verify_consistency(old, new, root(hashes[:old]), root(hashes[:new]), proof)


@given(leaf_data, st.data())
def test_any_flipped_bit_breaks_an_inclusion_proof(data: list[bytes], draw: st.DataObject) -> None:
    hashes = [leaf_hash(d) for d in data]
    n = len(hashes)
    index = draw.draw(st.integers(0, n - 1))
    proof = inclusion_proof(index, hashes)
    good_root = root(hashes)
    target = draw.draw(st.sampled_from(["leaf", "root", "proof"] if proof else ["leaf", "root"]))
    bit = draw.draw(st.integers(0, 255))
    leaf, r, p = hashes[index], good_root, list(proof)
    if target == "leaf":
        leaf = flip(leaf, bit)
    elif target == "root":
        r = flip(r, bit)
    else:
        i = draw.draw(st.integers(0, len(p) - 1))
        p[i] = flip(p[i], bit)
    with pytest.raises(ProofError):
        verify_inclusion(index, n, leaf, p, r)


@given(leaf_data, st.data())
def test_any_flipped_bit_breaks_a_consistency_proof(data: list[bytes], draw: st.DataObject) -> None:
    hashes = [leaf_hash(d) for d in data]
    new = draw.draw(st.integers(1, len(data)))
    old = draw.draw(st.integers(1, new))
    proof = consistency_proof(old, new, hashes)
    r1, r2 = root(hashes[:old]), root(hashes[:new])
    targets = ["old_root", "new_root"] + (["proof"] if proof else [])
    target = draw.draw(st.sampled_from(targets))
    bit = draw.draw(st.integers(0, 255))
    p = list(proof)
    if target == "old_root":
        r1 = flip(r1, bit)
    elif target == "new_root":
        r2 = flip(r2, bit)
    else:
        i = draw.draw(st.integers(0, len(p) - 1))
        p[i] = flip(p[i], bit)
    with pytest.raises(ProofError):
        verify_consistency(old, new, r1, r2, p)


@given(distinct_leaf_data, st.data())
def test_an_inclusion_proof_proves_only_its_own_position(
    data: list[bytes], draw: st.DataObject
) -> None:
    hashes = [leaf_hash(d) for d in data]
    n = len(hashes)
    index = draw.draw(st.integers(0, n - 1))
    other = draw.draw(st.integers(0, 2 * n))
    proof = inclusion_proof(index, hashes)
    if other != index:
        with pytest.raises(ProofError):
            verify_inclusion(other, n, hashes[index], proof, root(hashes))


@given(leaf_data)
def test_compact_range_root_equals_the_root_of_every_prefix(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    cr = CompactRange()
    for size, h in enumerate(hashes, start=1):
        cr.append(h)
        assert cr.size == size
        assert len(cr.hashes) == size.bit_count()
        assert cr.root() == ref_mth(data[:size])


@given(leaf_data)
def test_compact_range_survives_every_serialisation(data: list[bytes]) -> None:
    cr = CompactRange.from_leaf_hashes(leaf_hash(d) for d in data)
    for again in (
        CompactRange.from_bytes(cr.to_bytes()),
        CompactRange.from_json(cr.to_json()),
        CompactRange.from_hex(cr.size, cr.hex_hashes()),
        cr.copy(),
    ):
        assert again == cr
        assert again.root() == cr.root()
    # Restored state keeps growing to the same tree as the original.
    restored = CompactRange.from_bytes(cr.to_bytes())
    restored.append(leaf_hash(b"next"))
    assert restored.root() == ref_mth([*data, b"next"])


@settings(max_examples=50)
@given(leaf_data, st.integers(1, 5), st.data())
def test_proofs_from_a_leaf_store_callback_equal_in_memory_proofs(
    data: list[bytes], batch: int, draw: st.DataObject
) -> None:
    hashes = [leaf_hash(d) for d in data]
    reads: list[int] = []

    def fetch(start: int, end: int) -> list[bytes]:
        assert 0 <= start < end <= len(hashes) and end - start <= batch
        reads.append(end - start)
        return hashes[start:end]

    hasher = subtree_hasher_from_leaves(fetch, batch_size=batch)
    n = len(hashes)
    index = draw.draw(st.integers(0, n - 1))
    assert inclusion_proof_with(index, n, hasher) == inclusion_proof(index, hashes)
    assert sum(reads) <= n - 1  # disjoint subtrees: each leaf read at most once
    old = draw.draw(st.integers(0, n))
    assert consistency_proof_with(old, n, hasher) == consistency_proof(old, n, hashes)


# -- edges and misuse ------------------------------------------------------------------------


def test_consistency_with_the_empty_tree_and_with_itself() -> None:
    r = root(CT_LEAF_HASHES)
    verify_consistency(0, 8, EMPTY_ROOT, r, [])
    verify_consistency(8, 8, r, r, [])
    assert consistency_proof(0, 8, CT_LEAF_HASHES) == []
    assert consistency_proof(8, 8, CT_LEAF_HASHES) == []
    with pytest.raises(ProofError):
        verify_consistency(0, 8, r, r, [])  # a size-0 tree has exactly one root
    with pytest.raises(ProofError):
        verify_consistency(8, 8, r, EMPTY_ROOT, [])
    with pytest.raises(ProofError):
        verify_consistency(8, 8, r, r, [r])
    with pytest.raises(ProofError):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    with pytest.raises(ProofError):
        verify_consistency(8, 7, r, r, [])  # time travel


def test_inclusion_in_an_empty_or_too_small_tree_is_refused() -> None:
    with pytest.raises(ProofError):
        verify_inclusion(0, 0, CT_LEAF_HASHES[0], [], EMPTY_ROOT)
    with pytest.raises(ProofError):
        verify_inclusion(1, 1, CT_LEAF_HASHES[0], [], CT_ROOTS[1])
    with pytest.raises(ProofError):
        inclusion_proof(0, [])
    with pytest.raises(ProofError):
        inclusion_proof(8, CT_LEAF_HASHES)


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x00" * 31, b"\x00" * 33, "00" * 32],
)
def test_hashes_of_the_wrong_length_are_refused(bad: object) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(0, 1, bad, [], CT_ROOTS[1])  # type: ignore[arg-type]
    with pytest.raises(ProofError):
        verify_inclusion(0, 1, CT_LEAF_HASHES[0], [], bad)  # type: ignore[arg-type]
    with pytest.raises(ProofError):
        verify_inclusion(0, 2, CT_LEAF_HASHES[0], [bad], CT_ROOTS[2])  # type: ignore[list-item]
    with pytest.raises(ProofError):
        CompactRange().append(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [-1, True, 1.0, 1 << 64])
def test_sizes_must_be_plain_uint64_integers(size: object) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(0, size, CT_LEAF_HASHES[0], [], CT_ROOTS[1])  # type: ignore[arg-type]


def test_malformed_compact_range_state_is_refused() -> None:
    cr = CompactRange.from_leaf_hashes(CT_LEAF_HASHES[:3])
    raw = cr.to_bytes()
    for bad in (raw[:-1], raw + b"\x00", b"\x02" + raw[1:], raw[:5]):
        with pytest.raises(ProofError):
            CompactRange.from_bytes(bad)
    with pytest.raises(ProofError):
        CompactRange(3, cr.hashes[:1])
    with pytest.raises(ProofError):
        CompactRange.from_hex(3, [h.upper() for h in cr.hex_hashes()])
    with pytest.raises(ProofError):
        CompactRange.from_json({"size": 3, "hashes": cr.hex_hashes(), "extra": 1})
    with pytest.raises(ProofError):
        CompactRange.from_json({"size": True, "hashes": [cr.hex_hashes()[0]]})


def test_a_leaf_store_returning_the_wrong_count_is_an_error() -> None:
    hasher = subtree_hasher_from_leaves(lambda s, e: CT_LEAF_HASHES[s : e - 1])
    with pytest.raises(ProofError):
        inclusion_proof_with(0, 8, hasher)


def test_the_module_is_pure() -> None:
    # The maths must stay free of storage, clocks and crypto libraries
    # (docs/principles.md section 5).
    source = Path(merkle.__file__).read_text(encoding="utf-8")
    for forbidden in ("sqlalchemy", "cryptography", "datetime", "hub."):
        assert f"import {forbidden}" not in source and f"from {forbidden}" not in source


# -- many inclusion proofs in one pass (the data-subject report, ADR 0403) ------------------------


@settings(max_examples=150)
@given(
    st.integers(1, 600),
    st.data(),
    st.sampled_from([1, 2, 4, 16, 64, 4096]),
)
def test_many_proofs_in_one_pass_equal_single_proofs_and_read_each_leaf_once(
    size: int, draw: st.DataObject, chunk: int
) -> None:
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size)]
    wanted = draw.draw(st.lists(st.integers(0, size - 1), max_size=30))
    reads = [0] * size

    def fetch(start: int, end: int) -> list[bytes]:
        for i in range(start, end):
            reads[i] += 1
        return leaves[start:end]

    proofs, tree_root = merkle.inclusion_proofs_from_leaves(wanted, size, fetch, chunk=chunk)
    assert tree_root == root(leaves)
    assert set(proofs) == set(wanted)
    for index in wanted:
        assert proofs[index] == inclusion_proof(index, leaves)
        verify_inclusion(index, size, leaves[index], proofs[index], tree_root)
    assert max(reads) <= 1


def test_many_proofs_refuse_bad_input() -> None:
    leaves = CT_LEAF_HASHES
    fetch = lambda a, b: leaves[a:b]  # noqa: E731
    assert merkle.inclusion_proofs_from_leaves([], 0, fetch) == ({}, EMPTY_ROOT)
    with pytest.raises(ProofError):
        merkle.inclusion_proofs_from_leaves([8], 8, fetch)
    with pytest.raises(ProofError):
        merkle.inclusion_proofs_from_leaves([-1], 8, fetch)
    with pytest.raises(ValueError):
        merkle.inclusion_proofs_from_leaves([1], 8, fetch, chunk=3)
    with pytest.raises(ProofError):
        merkle.inclusion_proofs_from_leaves([1], 8, lambda a, b: leaves[a : b - 1])
    with pytest.raises(ProofError):
        merkle.inclusion_proofs_from_leaves([1], 8, lambda a, b: [b"short"] * (b - a))
