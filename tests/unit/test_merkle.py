"""The Merkle tree, pure: RFC 6962/9162 reference values, transparency-dev/merkle's proof vectors,
and a property test over every (i, n) and (m, n) of small logs."""

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.merkle import (
    EMPTY_ROOT, ProofError, border_root, border_subtrees, consistency_proof, event_leaf, extend,
    inclusion_proof, leaf_hash, level_index, node_hash, root, subtrees_needed, tree_root,
    verify_consistency, verify_inclusion,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "transparency_dev_merkle.json").read_text())["vectors"]
hd = bytes.fromhex
b64 = base64.b64decode

# transparency-dev/merkle testonly/constants.go (the RFC 6962 reference tree of 8 leaves)
LEAF_INPUTS = [hd(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                               "606162636465666768696a6b6c6d6e6f")]
ROOTS = [hd(x) for x in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
LEVEL1 = [hd(x) for x in ("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                          "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                          "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                          "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")]


def test_rfc6962_hashes():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert node_hash(b"N123", b"N456").hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


def test_reference_roots_for_every_size():
    leaves = [leaf_hash(x) for x in LEAF_INPUTS]
    assert [root(leaves[:n]) for n in range(9)] == ROOTS


def test_event_leaf_is_the_chain_hash_as_32_bytes():
    chain_hash = "ab" * 32
    assert event_leaf(chain_hash) == leaf_hash(bytes.fromhex(chain_hash))


def store_of(leaves):
    """What a store keeps: every aligned perfect subtree, asked through ``subtree(start, end)``."""
    asked = []

    def subtree(start, end):
        asked.append((start, end))
        assert end - start & (end - start - 1) == 0 and start % (end - start) == 0, (start, end)
        assert end <= len(leaves)
        return root(leaves[start:end])
    return subtree, asked


def test_extend_emits_every_node_once_and_keeps_the_compact_range():
    leaves = [leaf_hash(x) for x in LEAF_INPUTS]
    size, border, nodes = 0, [], []
    for n in range(8):
        size, border, new = extend(size, border, [leaves[n]])
        nodes += new
        assert border_root(border) == ROOTS[size]
        assert [root(leaves[s:e]) for s, e in border_subtrees(size)] == border
    by_level = {(lvl, idx): h for lvl, idx, h in nodes}
    assert len(by_level) == len(nodes) == 15
    assert [by_level[(1, i)] for i in range(4)] == LEVEL1
    assert by_level[(3, 0)] == ROOTS[8]
    # in one batch: the same nodes
    assert extend(0, [], leaves) == (8, border, nodes)


def test_level_index():
    assert level_index(0, 1) == (0, 0)
    assert level_index(4, 6) == (1, 2)
    assert level_index(8, 16) == (3, 1)


@pytest.mark.parametrize("name", sorted(k for k in VECTORS if k.startswith("testdata/inclusion/")))
def test_inclusion_vectors(name):
    v = VECTORS[name]
    args = (b64(v["leafHash"]), v["leafIdx"], v["treeSize"], [b64(p) for p in v["proof"] or []], b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("name", sorted(k for k in VECTORS if k.startswith("testdata/consistency/")))
def test_consistency_vectors(name):
    v = VECTORS[name]
    args = (v["size1"], v["size2"], b64(v["root1"]), b64(v["root2"]), [b64(p) for p in v["proof"] or []])
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_generated_proofs_equal_the_vectors():
    leaves = [leaf_hash(x) for x in LEAF_INPUTS]
    subtree, _ = store_of(leaves)
    happy = VECTORS["testdata/inclusion/1/happy-path.json"]
    assert inclusion_proof(happy["leafIdx"], happy["treeSize"], subtree) == [b64(p) for p in happy["proof"]]
    happy = VECTORS["testdata/consistency/1/happy-path.json"]
    assert consistency_proof(happy["size1"], happy["size2"], subtree) == [b64(p) for p in happy["proof"]]


def leaves_of(n):
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def altered(proof, i, bit):
    out = list(proof)
    out[i] = bytes(b ^ (1 << bit) if j == 0 else b for j, b in enumerate(out[i]))
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, 7))))
def test_inclusion_proofs_verify_and_fail_for_any_altered_byte(case):
    n, i, bit = case
    leaves = leaves_of(n)
    subtree, _ = store_of(leaves)
    r = tree_root(n, subtree)
    assert r == root(leaves)
    proof = inclusion_proof(i, n, subtree)
    verify_inclusion(leaves[i], i, n, proof, r)
    for k in range(len(proof)):
        with pytest.raises(ProofError):
            verify_inclusion(leaves[i], i, n, altered(proof, k, bit), r)
    with pytest.raises(ProofError):
        verify_inclusion(altered([leaves[i]], 0, bit)[0], i, n, proof, r)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[i], i, n, proof, altered([r], 0, bit)[0])
    if n > 1:
        with pytest.raises(ProofError):
            verify_inclusion(leaves[i], (i + 1) % n, n, proof, r)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n), st.integers(0, 7))))
def test_consistency_proofs_verify_and_fail_for_any_altered_byte(case):
    n, m, bit = case
    leaves = leaves_of(n)
    subtree, _ = store_of(leaves)
    rm, rn = root(leaves[:m]), root(leaves)
    proof = consistency_proof(m, n, subtree)
    verify_consistency(m, n, rm, rn, proof)
    for k in range(len(proof)):
        with pytest.raises(ProofError):
            verify_consistency(m, n, rm, rn, altered(proof, k, bit))
    with pytest.raises(ProofError):
        verify_consistency(m, n, altered([rm], 0, bit)[0], rn, proof)
    with pytest.raises(ProofError):
        verify_consistency(m, n, rm, altered([rn], 0, bit)[0], proof)


@pytest.mark.parametrize("n", range(1, 40))
def test_every_pair_of_small_logs(n):
    leaves = leaves_of(n)
    subtree, _ = store_of(leaves)
    for m in range(1, n + 1):
        verify_consistency(m, n, root(leaves[:m]), root(leaves), consistency_proof(m, n, subtree))
    for i in range(n):
        verify_inclusion(leaves[i], i, n, inclusion_proof(i, n, subtree), root(leaves))


def test_proofs_ask_for_logarithmically_many_subtrees_named_beforehand():
    n = 1_000_003
    needed = subtrees_needed(lambda st_: inclusion_proof(123_457, n, st_))
    assert len(needed) <= 2 * n.bit_length()
    needed = subtrees_needed(lambda st_: consistency_proof(500_001, n, st_))
    assert len(needed) <= 2 * n.bit_length()
    assert all(e - s & (e - s - 1) == 0 and s % (e - s) == 0 for s, e in needed)


def test_arguments_no_proof_exists_for():
    subtree, _ = store_of(leaves_of(4))
    with pytest.raises(ValueError):
        inclusion_proof(4, 4, subtree)
    with pytest.raises(ValueError):
        consistency_proof(0, 4, subtree)
    with pytest.raises(ValueError):
        consistency_proof(5, 4, subtree)


def test_truncation_names_the_missing_seqs_and_who_knew_them():
    from shared.events.tail import find_truncation

    assert find_truncation(12, {"checkpoint": 12, "tree": 12, "relay": None, "topic": 10}) is None
    found = find_truncation(9, {"checkpoint": 10, "tree": 12, "relay": 12, "topic": 11})
    assert found.message == "log truncated: seqs 10..12 missing"
    assert found.evidence == {"checkpoint": 10, "tree": 12, "relay": 12, "topic": 11}
    assert find_truncation(0, {"topic": 3}).message == "log truncated: seqs 1..3 missing"


def test_checkpoint_policy_signs_after_n_events_or_t_seconds_of_growth():
    from shared.events.checkpoints import CheckpointPolicy

    policy = CheckpointPolicy(every_events=5, every_seconds=60)
    assert not policy.due(size=4, last_size=0, since_last=1)
    assert policy.due(size=5, last_size=0, since_last=1)
    assert policy.due(size=6, last_size=5, since_last=61)
    assert not policy.due(size=5, last_size=5, since_last=3600)  # nothing new: nothing to sign
