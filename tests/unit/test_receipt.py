"""A receipt verifies offline — event hash, leaf, inclusion, origin signature, cosignature, public
part — and fails when any single byte of the file changes."""

from __future__ import annotations

import pytest

from shared.events import receipt
from shared.events.merkle import event_leaf, inclusion_proof, root
from shared.events.note import Checkpoint, Signer, cosign, sign_note
from tests.unit.audit.logs import Log

ORIGIN, WITNESS = "fupin.test/registry", "fupin.test/audit"
LOG_KEY, WITNESS_KEY = Signer.generate(ORIGIN), Signer.generate(WITNESS)
PUBLISHED = [LOG_KEY.verifier(), WITNESS_KEY.cosigner_verifier()]


def subtree_of(leaves):
    return lambda start, end: root(leaves[start:end])


@pytest.fixture(scope="module")
def log() -> Log:
    log = Log("registry")
    for n in range(1, 12):
        log.add("registry.benefit.recorded", f"hh-{n}", {"n": n, "id_number": "65272219800101001X",
                                                          "phone": "13812345678", "amount": "1200.00"})
    return log


def make(log: Log, seq: int = 6, size: int = 11, *, cosigned: bool = True) -> bytes:
    leaves = [event_leaf(e["hash"]) for e in log.events[:size]]
    note = sign_note(Checkpoint(ORIGIN, size, root(leaves)).body(), [LOG_KEY])
    keys = [LOG_KEY.verifier_key()]
    if cosigned:
        note = note + cosign(note, WITNESS_KEY, 1_764_000_000)
        keys.append(WITNESS_KEY.cosigner_verifier().key_string())
    proof = inclusion_proof(seq - 1, size, subtree_of(leaves))
    return receipt.dumps(receipt.build(log.events[seq - 1], tree_size=size, proof=proof, checkpoint=note, keys=keys))


def test_a_receipt_verifies_offline_against_the_published_keys(log):
    verified = receipt.verify(make(log), PUBLISHED)
    assert (verified.seq, verified.tree_size, verified.origin, verified.cosigners, verified.keys_trusted) == (
        6, 11, ORIGIN, [WITNESS], True)
    for seq in range(1, 12):  # every leaf, at a size that is not a power of two
        assert receipt.verify(make(log, seq, cosigned=False)).seq == seq


def test_the_public_part_masks_personal_numbers_while_the_event_stays_as_hashed(log):
    body = make(log).decode()
    assert '"public":{"data":{"amount":"1200.00","id_number":"652722********001X","n":6,"phone":"138****5678"}' in body
    assert '"id_number":"65272219800101001X"' in body  # the event as hashed: for its subject only


def test_keys_other_than_the_published_ones_are_refused(log):
    impostor = Signer.generate(ORIGIN)
    with pytest.raises(receipt.ReceiptError) as refused:
        receipt.verify(make(log), [impostor.verifier(), WITNESS_KEY.cosigner_verifier()])
    assert refused.value.step == "keys"


def test_any_changed_byte_fails(log):
    data = make(log)
    for at in range(len(data)):
        for flip in (0x01, 0x20):
            changed = data[:at] + bytes([data[at] ^ flip]) + data[at + 1:]
            with pytest.raises(receipt.ReceiptError):
                receipt.verify(changed, PUBLISHED)
    with pytest.raises(receipt.ReceiptError):
        receipt.verify(data[:-1], PUBLISHED)


async def test_fupin_verify_receipt_checks_a_file_and_exits_non_zero_on_a_change(log, tmp_path):
    from tests.conftest import run_cli

    path = tmp_path / "receipt.json"
    path.write_bytes(make(log))
    keys = [arg for k in PUBLISHED for arg in ("--key", k.key_string())]
    code, output = await run_cli("verify-receipt", str(path), *keys)
    assert code == 0, output
    assert "registry seq 6 (registry.benefit.recorded) is in the log" in output and "against the keys given" in output
    code, output = await run_cli("verify-receipt", str(path))
    assert code == 0 and "compare them with the published keys" in output
    path.write_bytes(make(log).replace(b'"n":6', b'"n":7'))
    code, output = await run_cli("verify-receipt", str(path), *keys)
    assert code == 1 and "does NOT verify" in output
