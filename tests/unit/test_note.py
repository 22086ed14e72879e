"""Signed notes, checkpoints, cosignatures: golang.org/x/mod/sumdb/note's vectors and C2SP's
examples (signed-note, tlog-checkpoint, tlog-cosignature)."""

import base64

import pytest

from shared.events.note import (
    COSIGNATURE_V1, Checkpoint, NoteError, Signer, Verifier, add_signatures, cosign, open_checkpoint,
    open_note, sign_note, split_note, verify_cosignature,
)

# golang.org/x/mod sumdb/note/note_test.go
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6"
             "RyyBwJnAM=\n")
ENOCH_SIG = ("\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1Rv"
             "Mc+QQ=\n")
peter, enoch = Verifier.from_key_string(PETER_VKEY), Verifier.from_key_string(ENOCH_VKEY)


def test_go_private_key_signs_the_go_note_byte_for_byte():
    signer = Signer.from_key_string(PETER_SKEY)
    assert signer.verifier_key() == PETER_VKEY
    assert signer.key_string() == PETER_SKEY
    assert sign_note(TEXT, [signer]) == TEXT + "\n" + PETER_SIG


def test_verifier_key_manglings_are_refused():
    assert peter.key_string() == PETER_VKEY
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    Verifier.from_key_string(PETER_VKEY[i:j])
    for i in range(len(PETER_VKEY)):
        with pytest.raises(NoteError):
            Verifier.from_key_string(PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1:])
    with pytest.raises(NoteError):  # unknown algorithm, with adjusted key hash
        Verifier.from_key_string("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_open_verifies_known_keys_and_ignores_unknown_ones():
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [peter]) == (TEXT, ["PeterNeumann"])
    assert open_note(note, [peter, enoch]) == (TEXT, ["PeterNeumann", "EnochRoot"])
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(note, [])
    with pytest.raises(NoteError, match="ambiguous key EnochRoot\\+af0cfe78"):
        open_note(TEXT + "\n" + ENOCH_SIG, [enoch, peter, enoch])
    assert open_note(TEXT + "\n" + PETER_SIG, [enoch, peter, enoch])[1] == ["PeterNeumann"]
    with pytest.raises(NoteError, match="malformed"):
        open_note(TEXT + "\n" + PETER_SIG * 101, [peter])
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        open_note(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], [peter])
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    assert open_note(TEXT + "\n" + PETER_SIG * 2 + ENOCH_SIG * 2 + enoch_abcd, [peter])[1] == ["PeterNeumann"]


@pytest.mark.parametrize("bad", [
    TEXT, TEXT + "\n", TEXT + "\n" + PETER_SIG[:-1], "\x01" + TEXT + "\n" + PETER_SIG,
    b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
    TEXT + "\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
    TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
])
def test_malformed_notes_are_refused(bad):
    with pytest.raises(NoteError):
        open_note(bad, [peter])


def test_c2sp_signed_note_example():
    vkey = Verifier.from_key_string("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    note = ("This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ON"
            "ncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
    assert open_note(note, [vkey]) == ("This is an example message.\n", ["example.com/foo"])


def test_c2sp_checkpoint_example_parses_and_round_trips():
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.parse(body)
    assert (cp.origin, cp.size, cp.root_hash) == ("example.com/behind-the-sofa", 20852163,
                                                  base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="))
    assert cp.body() == body
    assert Checkpoint.parse(body + "ext line\n").extensions == ("ext line",)
    for bad in ("x\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "x\n1\nAAAA\n", "x\n1\n",
                "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"):
        with pytest.raises(NoteError):
            Checkpoint.parse(bad)


def test_c2sp_cosignature_example_line_carries_its_timestamp():
    # tlog-cosignature.md: "— witness.example.com/w1 jWbPPwAAAABkGFDL..." signed at time 1679315147
    raw = base64.b64decode("jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWX"
                           "EhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==")
    assert int.from_bytes(raw[4:12], "big") == 1679315147 and len(raw) == 4 + 8 + 64


def test_checkpoint_signed_cosigned_and_verified():
    log, witness = Signer.generate("fupin.example/dev/funds"), Signer.generate("fupin.example/dev/audit-witness")
    cp = Checkpoint(log.name, 42, bytes(range(32)))
    note = sign_note(cp.body(), [log])
    assert open_checkpoint(note, [log.verifier()]) == cp
    line = cosign(note, witness, 1_700_000_000)
    cosigned = add_signatures(note, [line])
    assert verify_cosignature(cosigned, witness.cosigner_verifier()) == 1_700_000_000
    assert witness.cosigner_verifier().sig_type == COSIGNATURE_V1
    assert witness.cosigner_verifier().key_id != witness.verifier().key_id
    # both signatures verify together; the cosignature is not a note signature of the same name
    assert open_note(cosigned, [log.verifier(), witness.cosigner_verifier()])[1] == [log.name, witness.name]
    with pytest.raises(NoteError, match="no verifiable"):
        open_note(cosigned, [witness.verifier()])
    tampered = cosigned.replace("\n42\n", "\n43\n")
    with pytest.raises(NoteError):
        verify_cosignature(tampered, witness.cosigner_verifier())
    with pytest.raises(NoteError):
        open_checkpoint(tampered, [log.verifier()])
    assert Verifier.from_key_string(witness.cosigner_verifier().key_string()) == witness.cosigner_verifier()


def test_any_changed_byte_of_a_signed_checkpoint_is_refused():
    log = Signer.generate("fupin.example/dev/registry")
    note = sign_note(Checkpoint(log.name, 7, bytes(32)).body(), [log])
    for i, ch in enumerate(note):
        if ch in "\n\u2014 ":
            continue
        changed = note[:i] + ("B" if ch != "B" else "C") + note[i + 1:]
        with pytest.raises(NoteError):
            open_checkpoint(changed, [log.verifier()])


def test_split_note_exposes_signature_lines():
    text, sigs = split_note(TEXT + "\n" + PETER_SIG)
    assert text == TEXT and sigs[0].name == "PeterNeumann" and sigs[0].key_id.hex() == "c74f20a3"
    assert sigs[0].line() == PETER_SIG
