"""The Merkle tree over a service's log, pure: RFC 9162 §2.1 hashing, tree heads, proofs.

Guarantees:

1. Hashing is RFC 9162 §2.1 (= RFC 6962 §2.1) with SHA-256::

       leaf_hash(d)    = SHA-256(0x00 || d)
       node_hash(l, r) = SHA-256(0x01 || l || r)
       MTH({})         = SHA-256()            (the empty tree)

   and a tree of ``n > 1`` leaves splits at ``k``, the largest power of two below ``n``.
2. **The leaf data of a Fupin event is its 32-byte chain hash** (``bytes.fromhex(event["hash"])``).
   The chain hash already commits to the event's canonical envelope (RFC 8785) and to its
   predecessor (:mod:`shared.events.chain`), so the tree binds exactly the bytes the chain does;
   leaf index = ``seq - 1``.
3. Proofs (:func:`inclusion_proof`, :func:`consistency_proof`, :func:`tree_root`) are computed
   from hashes of *aligned perfect subtrees* only — ``[start, end)`` with ``end - start`` a power
   of two and ``start`` a multiple of it — asked of a ``subtree(start, end)`` callable: exactly
   what a store keeps by (level, index). At most ``2·log2(n)`` of them per proof, never the leaves.
   :func:`subtrees_needed` names them before any is read, so a store fetches them in one query.
4. Verification (:func:`verify_inclusion`, :func:`verify_consistency`) is RFC 9162 §2.1.3.2 and
   §2.1.4.2, plain code for the audit and any client; it passes the transparency-dev/merkle test
   vectors, and raises :class:`ProofError` naming the reason. As there, a consistency proof from
   the empty tree is meaningless and refused (every tree extends the empty one).
5. :func:`extend` grows a compact range (the right border of the tree) by new leaves and returns
   every perfect subtree completed on the way, each exactly once: how the store maintains the tree
   without ever rehashing the log.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``subtree(start, end)``: the hash of the aligned perfect subtree ``[start, end)``.
SubtreeReader = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof that does not verify, or arguments no proof can exist for; the message says why."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_leaf(event_hash_hex: str) -> bytes:
    """The leaf hash of a Fupin event: leaf data = its 32-byte chain hash (guarantee 2)."""
    return leaf_hash(bytes.fromhex(event_hash_hex))


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the leaves (the reference definition, recursive; for tests and small trees)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def is_perfect(start: int, end: int) -> bool:
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def level_index(start: int, end: int) -> tuple[int, int]:
    """(level, index) of the aligned perfect subtree ``[start, end)``: level 0 is the leaves."""
    level = (end - start).bit_length() - 1
    return level, start >> level


def _range_hash(start: int, end: int, subtree: SubtreeReader) -> bytes:
    """MTH(D[start:end]) of a range the RFC recursion produces (``start`` aligned)."""
    size = end - start
    if size & (size - 1) == 0:
        return subtree(start, end)
    k = _split(size)
    return node_hash(subtree(start, start + k), _range_hash(start + k, end, subtree))


def tree_root(size: int, subtree: SubtreeReader) -> bytes:
    """The root of the tree of the first ``size`` leaves."""
    if size < 0:
        raise ValueError("tree size must be >= 0")
    return _range_hash(0, size, subtree) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, subtree: SubtreeReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, lowest level first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    return _path(index, 0, size, subtree)


def _path(m: int, start: int, end: int, subtree: SubtreeReader) -> list[bytes]:
    if end - start == 1:
        return []
    k = start + _split(end - start)
    if m < k:
        return _path(m, start, k, subtree) + [_range_hash(k, end, subtree)]
    return _path(m, k, end, subtree) + [subtree(start, k)]


def consistency_proof(m: int, n: int, subtree: SubtreeReader) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1 (``0 < m <= n``)."""
    if not 0 < m <= n:
        raise ValueError(f"no consistency proof from size {m} to size {n} (need 0 < from <= to)")
    return _subproof(m, 0, n, True, subtree)


def _subproof(m: int, start: int, end: int, whole: bool, subtree: SubtreeReader) -> list[bytes]:
    if m == end:
        return [] if whole else [_range_hash(start, end, subtree)]
    k = start + _split(end - start)
    if m <= k:
        return _subproof(m, start, k, whole, subtree) + [_range_hash(k, end, subtree)]
    return _subproof(m, k, end, False, subtree) + [subtree(start, k)]


def subtrees_needed(compute: Callable[[SubtreeReader], object]) -> list[tuple[int, int]]:
    """The perfect subtrees ``compute(subtree)`` asks for, in order (the proof's shape does not
    depend on the hashes): a store reads them all in one query, then runs ``compute`` again."""
    asked: dict[tuple[int, int], None] = {}

    def record(start: int, end: int) -> bytes:
        asked[(start, end)] = None
        return EMPTY_ROOT

    compute(record)
    return list(asked)


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> None:
    """RFC 9162 §2.1.3.2: ``leaf`` (a leaf hash) is entry ``index`` of the tree ``root_hash`` of
    ``size`` leaves. Raises :class:`ProofError`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hash("leaf hash", leaf)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    if r != root_hash:
        raise ProofError("calculated root does not match the tree's root")


def verify_consistency(m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2: the tree ``root_n`` of ``n`` leaves extends the tree ``root_m`` of ``m``
    leaves. Raises :class:`ProofError`."""
    if m > n:
        raise ProofError(f"size {m} is larger than size {n}")
    if m == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if m == n:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if root_m != root_n:
            raise ProofError(f"two different roots for size {m}")
        return
    if not proof:
        raise ProofError("empty proof")
    _check_hash("first root", root_m)
    _check_hash("second root", root_n)
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, root_m)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    if fr != root_m:
        raise ProofError(f"proof does not lead to the root of size {m}")
    if sr != root_n:
        raise ProofError(f"proof does not lead to the root of size {n}")


# --- growing the tree (guarantee 5) ----------------------------------------------------------

Node = tuple[int, int, bytes]  # (level, index, hash) of an aligned perfect subtree


def border_subtrees(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees whose concatenation is ``[0, size)``, largest first: the compact range
    (one per set bit of ``size``)."""
    out, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((start, start + (1 << level)))
            start += 1 << level
    return out


def extend(size: int, border: Sequence[bytes], leaves: Iterable[bytes]) -> tuple[int, list[bytes], list[Node]]:
    """Append leaf hashes to the tree of ``size`` leaves whose compact range is ``border`` (hashes
    of :func:`border_subtrees`, largest first). Returns the new size, the new border and every
    subtree completed (leaves included) as (level, index, hash)."""
    stack = list(border)
    if len(stack) != bin(size).count("1"):
        raise ValueError(f"a tree of size {size} has {bin(size).count('1')} border nodes, not {len(stack)}")
    nodes: list[Node] = []
    for h in leaves:
        index, level = size, 0
        nodes.append((0, index, h))
        while index & 1:
            h = node_hash(stack.pop(), h)
            index, level = index >> 1, level + 1
            nodes.append((level, index, h))
        stack.append(h)
        size += 1
    return size, stack, nodes


def border_root(border: Sequence[bytes]) -> bytes:
    """The tree's root from its compact range (right to left folding)."""
    if not border:
        return EMPTY_ROOT
    h = border[-1]
    for left in reversed(border[:-1]):
        h = node_hash(left, h)
    return h
