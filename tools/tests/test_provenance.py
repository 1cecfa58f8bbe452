"""Format 1.2 provenance in pyfff: identity, CARD, SIGN, signing, verification, keys, and
fff-convert --card / --sign-key (spec/FORMAT.md §13.1 ... §13.6)."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pyfff import provenance as pv
from pyfff.format import (
    FormatError, Model, RawSection, SignatureBlock, assemble, check_card_value, describe,
    model_sections, read_model, read_model_payloads, recompute_checksums, validate_bytes,
    write_model,
)

import make_conformance
from make_conformance import make_model, spec_example_model

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "fixtures" / "provenance"
SPEC = ROOT / "spec" / "FORMAT.md"
TEST_KEY_ID = "44ad5f4f148a0f744d1b5f33bd4b1a98991e1dc72d6d832435e0331d50fa30ff"
OTHER_KEY_ID = "ac8b96b6befd155ef914e0f1bde18f71b620b4be61961328304e75e2a294016e"


@pytest.fixture(scope="module")
def test_key():
    return pv.load_private_key(KEYS / "test-key.pem")


@pytest.fixture(scope="module")
def other_key():
    return pv.load_private_key(KEYS / "other-key.pem")


@pytest.fixture(scope="module")
def test_pub():
    return pv.load_public_key(KEYS / "test-key.pub")


@pytest.fixture(scope="module")
def other_pub():
    return pv.load_public_key(KEYS / "other-key.pub")


def models() -> list[Model]:
    """Models of every kind: depth 0 and deep, master leaf, PREP, every element type."""
    out = [make_model(1, 3, 2, 0, 4, "identity"),
           make_model(4, 6, 4, 2, 3, "gelu-tanh", m=5, k=0.75, prep="per-feature"),
           make_model(5, 8, 5, 3, 2, "silu", prep="scalar", labels=list("abcde"),
                      metadata=[("name", "m")])]
    for weight, node in (("float16", "float16"), ("bfloat16", "float32"), ("int8-row", "int8-row")):
        out.append(replace(make_model(6, 5, 3, 2, 3, "relu", m=2, k=-1.0), weight_type=weight,
                           node_type=node))
    return out


ENCODINGS = [dict(codec="none", shuffle=False), dict(codec="none", shuffle=True),
             dict(codec="zstd", shuffle=True, level=19), dict(codec="zstd", shuffle=False, level=1),
             dict(codec="zstd", shuffle=True, level=3)]


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize("index", range(6))
def test_identity_is_kept_by_every_codec_level_and_shuffle(index: int) -> None:
    model = models()[index]
    identities = {pv.identity(write_model(model, **enc)).hex() for enc in ENCODINGS}
    assert identities == {pv.identity(model).hex()}
    # and by ancillary sections: labels, metadata, card, signatures, unknown ones
    dressed = replace(model, labels=[f"l{c}" for c in range(model.output_width)],
                      metadata=[("name", "other"), ("x", "y")], card=[("name", "a card")])
    assert pv.identity(write_model(dressed)) == pv.identity(model)
    secs = model_sections(dressed) + [RawSection(b"xJNK", b"junk", critical=False, codec=0, filter=0, unit=0)]
    assert pv.identity(assemble(secs)) == pv.identity(model)


def test_identity_ignores_table_order_and_header_fields() -> None:
    model = make_model(15, 5, 2, 1, 2, "relu", prep="scalar", metadata=[("name", "order")])
    secs = {s.type.decode(): s for s in model_sections(model, codec="none")}
    order = ["MODL", "META", "LFB2", "NODB", "LFW2", "PREP", "LFW1", "NODW", "LFB1"]
    shuffled = assemble([secs[t] for t in order])
    newer = assemble(model_sections(model), minor=3, header_flags=7)
    assert pv.identity(shuffled) == pv.identity(newer) == pv.identity(model)


def test_identity_message_layout_by_hand() -> None:
    """The message of §13.2 rebuilt here with struct and hashlib only, from the decoded payloads."""
    model = make_model(4, 6, 4, 2, 3, "gelu-tanh", m=5, k=0.75, prep="per-feature", labels=list("abcd"))
    data = write_model(model)
    _, payloads = read_model_payloads(data)
    order = [b"MODL", b"PREP", b"NODW", b"NODB", b"LFW1", b"LFB1", b"LFW2", b"LFB2",
             b"MSW1", b"MSB1", b"MSW2", b"MSB2"]
    message = b"FFFID1\0\0" + b"".join(t + struct.pack("<Q", len(payloads[t])) + payloads[t]
                                       for t in order if t in payloads)
    assert pv.identity_message(data) == message
    assert pv.identity(data) == hashlib.sha256(message).digest()
    assert b"LABL" not in message


def test_identity_changes_with_every_bit_of_every_critical_payload() -> None:
    """Every bit of MODL, PREP and each tensor, flipped in the decoded payloads: a new identity."""
    model = make_model(2, 5, 3, 1, 1, "relu", prep="scalar", m=1, k=0.5)
    base = pv.payloads_of(model)
    ident = pv.identity(base)
    seen = {ident}
    flips = 0
    for t, payload in base.items():
        for bit in range(8 * len(payload)):
            changed = bytearray(payload)
            changed[bit // 8] ^= 1 << (bit % 8)
            new = pv.identity({**base, t: bytes(changed)})
            assert new not in seen, (t, bit)
            seen.add(new)
            flips += 1
    assert flips == 8 * sum(len(p) for p in base.values())


def test_identity_changes_on_every_weight_bit_flip_in_a_file() -> None:
    """In a file (codec none, checksums recomputed): every bit of LFW1 and NODW that leaves the
    file valid changes the identity; the file's other identities stay apart."""
    model = make_model(3, 3, 2, 1, 2, "relu")
    data = write_model(model, codec="none", shuffle=False)
    info = describe(data)
    ident = pv.identity(data)
    valid_flips = 0
    for entry in info["sections"]:
        if entry["type"] not in ("LFW1", "NODW"):
            continue
        for bit in range(8 * entry["stored_length"]):
            changed = bytearray(data)
            changed[entry["offset"] + bit // 8] ^= 1 << (bit % 8)
            changed = recompute_checksums(bytes(changed))
            if validate_bytes(changed) is not None:
                continue  # a NaN or an infinity: an invalid file has no identity
            valid_flips += 1
            assert pv.identity(changed) != ident
    assert valid_flips > 8 * 12


def test_identity_of_an_invalid_file_is_an_error() -> None:
    with pytest.raises(FormatError) as err:
        pv.identity(b"\x89FFF\r\n\x1a\n" + bytes(24))
    assert err.value.code == "unsupported-version"


def test_same_function_other_identity() -> None:
    """§13.2: the identity names the stored model, not the function (PREP 1, 0 versus none)."""
    model = make_model(9, 3, 2, 1, 2, "relu")
    with_prep = replace(model, prep_scale=np.ones(1, np.float32), prep_offset=np.zeros(1, np.float32))
    assert pv.identity(model) != pv.identity(with_prep)


# --------------------------------------------------------------------------- the spec's example


def _spec_hex(label: str) -> str:
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("### 13.6 Worked example"):text.index("## 14. Inference")]
    row = next(line for line in section.splitlines() if line.startswith(f"| {label}"))
    return "".join(re.findall(r"`([0-9a-f]{16,})`", row))


def test_the_specs_worked_example_is_what_pyfff_computes(test_key, test_pub) -> None:
    model = spec_example_model()
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("### 13.6 Worked example"):text.index("## 14. Inference")]
    block = section[section.index("```\n") + 4:]
    block = block[:block.index("```")]
    listed = bytes.fromhex("".join(line.split("    ")[0] for line in block.splitlines()))
    assert listed == pv.identity_message(model)
    assert _spec_hex("identity") == pv.identity(model).hex()
    assert _spec_hex("card digest") == pv.card_digest(model).hex()
    assert _spec_hex("labels digest") == pv.labels_digest(model).hex()
    assert _spec_hex("key id") == pv.key_id(test_key).hex() == TEST_KEY_ID
    message = pv.signed_message(pv.identity(model), pv.card_digest(model), pv.labels_digest(model))
    signature = bytes.fromhex(_spec_hex("Ed25519 signature"))
    assert test_key.sign(message) == signature
    test_pub.verify(signature, message)  # raises if wrong
    corpus = (ROOT / "fixtures" / "conformance" / "valid" / "spec_example.fff").read_bytes()
    assert read_model(corpus).signatures.signatures[0].signature == signature
    assert pv.verify(corpus, [test_pub]).verdict == "good-signature"


# --------------------------------------------------------------------------- signing and verifying


def signed_file(key, **kw) -> bytes:
    model = make_model(40, 4, 3, 1, 2, "relu", prep="scalar", labels=["cat", "dog", "emu"],
                       metadata=[("name", "meta")])
    model.card = [("name", "signed"), ("license", "MIT"), ("metrics.accuracy", "0.5")]
    return pv.sign(write_model(model, codec="none", shuffle=False, **kw), key)


def test_sign_and_verify_verdicts(test_key, other_key, test_pub, other_pub) -> None:
    data = signed_file(test_key)
    good = pv.verify(data, [test_pub])
    assert good.verdict == "good-signature" and good.ok and good.key_ids == [bytes.fromhex(TEST_KEY_ID)]
    assert pv.verify(data, [test_pub, other_pub]).verdict == "good-signature"
    unknown = pv.verify(data, [other_pub])
    assert unknown.verdict == "unknown-key" and TEST_KEY_ID in unknown.message
    assert pv.verify(data, []).verdict == "unknown-key"
    unsigned = write_model(make_model(1, 3, 2, 0, 4, "identity"))
    assert pv.verify(unsigned, [test_pub]).verdict == "unsigned"
    # raw 32-byte keys and OpenSSH lines are trusted keys too
    assert pv.verify(data, [pv.public_key_bytes(test_pub)]).ok
    assert pv.verify(data, [pv.load_public_key(KEYS / "test-key.ssh.pub")]).ok
    both = pv.sign(data, other_key)
    assert [s.key_id.hex() for s in read_model(both).signatures.signatures] == [TEST_KEY_ID, OTHER_KEY_ID]
    assert pv.verify(both, [other_pub]).ok and pv.verify(both, [test_pub]).ok
    assert pv.verify(both, [test_pub]).as_json()["verdict"] == "good-signature"


def test_signing_is_deterministic_and_replaces_the_same_key(test_key, other_key) -> None:
    data = signed_file(test_key)
    assert pv.sign(data, test_key) == data  # same key, same digests: the same signature, in place
    both = pv.sign(data, other_key)
    assert pv.sign(both, test_key) == both
    assert pv.sign(pv.sign(both, other_key), test_key) == both


def test_signing_changes_only_the_sign_section(test_key) -> None:
    model = make_model(41, 5, 3, 2, 3, "gelu", m=2, k=0.5, labels=["a", "b", "c"])
    plain = write_model(model, level=3, shuffle=False)
    signed = pv.sign(plain, test_key)
    before, after = describe(plain), describe(signed)
    assert (before["minor"], after["minor"]) == (0, 2)
    assert [s["type"] for s in after["sections"]] == [s["type"] for s in before["sections"]] + ["SIGN"]
    for old, new in zip(before["sections"], after["sections"]):
        assert plain[old["offset"]:old["offset"] + old["stored_length"]] == \
            signed[new["offset"]:new["offset"] + new["stored_length"]]
        for field in ("flags", "codec", "filter", "filter_unit", "checksum", "decoded_length"):
            assert old[field] == new[field]
    sign = after["sections"][-1]
    assert (sign["codec"], sign["filter"], sign["critical"]) == (0, 0, False)
    # a newer minor version and its header flags are kept
    newer = assemble(model_sections(model), minor=5, header_flags=3)
    resigned = describe(pv.sign(newer, test_key))
    assert (resigned["minor"], resigned["header_flags"]) == (5, 3)


def test_sign_in_place_keeps_the_table_position(test_key, other_key) -> None:
    model = make_model(42, 4, 2, 1, 2, "relu")
    data = pv.sign(write_model(model), test_key)
    secs = [RawSection(b"xTRL", b"after", critical=False, codec=0, filter=0, unit=0)]
    info = describe(data)
    # append an unknown section after SIGN, then sign again: SIGN keeps its place
    raw = pv._replace_sign(data, read_model_payloads(data)[1][b"SIGN"])
    assert raw == data
    extended = assemble([RawSection(s["type"].encode(), b"", critical=s["critical"], codec=s["codec"],
                                    filter=s["filter"], unit=s["filter_unit"],
                                    stored_override=data[s["offset"]:s["offset"] + s["stored_length"]],
                                    decoded_length_override=s["decoded_length"])
                         for s in info["sections"]] + secs, minor=2)
    resigned = describe(pv.sign(extended, other_key))
    assert [s["type"] for s in resigned["sections"]][-2:] == ["SIGN", "xTRL"]


def test_stale_signatures_are_refused_unless_dropped(test_key, other_key, test_pub, other_pub) -> None:
    data = signed_file(test_key)
    info = describe(data)
    lfw1 = next(s for s in info["sections"] if s["type"] == "LFW1")
    changed = bytearray(data)
    changed[lfw1["offset"]] ^= 0x01
    changed = recompute_checksums(bytes(changed))
    assert validate_bytes(changed) is None
    assert pv.verify(changed, [test_pub]).verdict == "bad-signature"
    with pytest.raises(pv.ProvenanceError, match="stale"):
        pv.sign(changed, other_key)
    fresh = pv.sign(changed, other_key, drop_stale=True)
    block = read_model(fresh).signatures
    assert [s.key_id.hex() for s in block.signatures] == [OTHER_KEY_ID]
    assert pv.verify(fresh, [other_pub]).ok
    assert pv.verify(fresh, [test_pub]).verdict == "unknown-key"


def _payload_bits(data: bytes, section: str) -> tuple[int, int]:
    entry = next(s for s in describe(data)["sections"] if s["type"] == section)
    assert entry["codec"] == 0 and entry["filter"] == 0
    return entry["offset"], entry["stored_length"]


def test_every_covered_bit_flip_is_caught(test_key, test_pub) -> None:
    """Acceptance: every bit of MODL, PREP, the tensors, LABL and CARD flipped, with every CRC
    recomputed: the file is invalid (its error) or its verdict is bad-signature; never good."""
    model = spec_example_model()
    model.prep_scale, model.prep_offset = np.ones(1, np.float32), np.full(1, 0.5, np.float32)
    data = pv.sign(write_model(model, codec="none", shuffle=False), test_key)
    assert pv.verify(data, [test_pub]).ok
    counts = {"bad-signature": 0, "invalid": 0}
    for section in ("MODL", "PREP", "LFW1", "LFB1", "LFW2", "LFB2", "LABL", "CARD"):
        offset, length = _payload_bits(data, section)
        for bit in range(8 * length):
            changed = bytearray(data)
            changed[offset + bit // 8] ^= 1 << (bit % 8)
            changed = recompute_checksums(bytes(changed))
            try:
                verdict = pv.verify(changed, [test_pub])
            except FormatError:
                counts["invalid"] += 1
                continue
            assert verdict.verdict == "bad-signature", (section, bit)
            counts["bad-signature"] += 1
    assert counts["bad-signature"] > 250 and counts["invalid"] > 0
    # the SIGN section itself: digests, signature bytes, key id, algorithm
    offset, length = _payload_bits(data, "SIGN")
    for bit in range(8 * 8, 8 * length):
        changed = bytearray(data)
        changed[offset + bit // 8] ^= 1 << (bit % 8)
        changed = recompute_checksums(bytes(changed))
        try:
            verdict = pv.verify(changed, [test_pub])
        except FormatError:
            continue
        assert verdict.verdict in ("bad-signature", "unknown-key"), bit
        if bit < 8 * 104 or bit >= 8 * (104 + 40):  # digests or signature bytes
            assert verdict.verdict == "bad-signature", bit


def test_meta_and_encoding_are_not_covered(test_key, test_pub) -> None:
    data = signed_file(test_key)
    offset, length = _payload_bits(data, "META")
    changed = bytearray(data)
    changed[offset + length - 1] ^= 0x20  # 'meta' -> 'metA'
    assert pv.verify(recompute_checksums(bytes(changed)), [test_pub]).ok
    model = read_model(data)
    for enc in ENCODINGS:
        assert pv.verify(write_model(model, **enc), [test_pub]).ok


def test_which_digest_changed_is_named(test_key, test_pub) -> None:
    data = signed_file(test_key)
    for section, old, new, words in (("CARD", b"signed", b"Signed", "model card changed"),
                                     ("LABL", b"dog", b"cow", "labels changed"),
                                     ("LFB1", None, None, "weights, shape or preprocessing")):
        offset, length = _payload_bits(data, section)
        changed = bytearray(data)
        if old is None:
            changed[offset] ^= 0x01
        else:
            changed[offset:offset + length] = changed[offset:offset + length].replace(old, new)
        verdict = pv.verify(recompute_checksums(bytes(changed)), [test_pub])
        assert verdict.verdict == "bad-signature" and words in verdict.message, verdict.message


def test_signature_of_an_unknown_algorithm_is_not_checked(test_key, test_pub) -> None:
    data = signed_file(test_key)
    offset, _ = _payload_bits(data, "SIGN")
    changed = bytearray(data)
    changed[offset + 104] = 2
    verdict = pv.verify(recompute_checksums(bytes(changed)), [test_pub])
    assert verdict.verdict == "unknown-key"


def test_signature_block_writer_checks() -> None:
    block = SignatureBlock(bytes(32), bytes(32), bytes(32), [])
    with pytest.raises(FormatError, match="1 ... 256"):
        block.encode()
    model = make_model(1, 3, 2, 0, 4, "identity")
    model.signatures = SignatureBlock(bytes(31), bytes(32), bytes(32), [])
    with pytest.raises(FormatError):
        write_model(model)


def test_minor_version_the_writer_writes(test_key) -> None:
    model = make_model(1, 3, 2, 1, 4, "identity")
    assert describe(write_model(model))["minor"] == 0
    assert describe(write_model(replace(model, weight_type="float16")))["minor"] == 1
    assert describe(write_model(replace(model, card=[])))["minor"] == 2
    assert describe(write_model(replace(model, weight_type="float16", card=[("name", "x")])))["minor"] == 2
    assert describe(write_model(pv.sign_model(replace(model), test_key)))["minor"] == 2


def test_card_and_sign_round_trip_and_come_last(test_key) -> None:
    model = make_model(5, 8, 5, 3, 2, "silu", labels=list("abcde"), metadata=[("name", "m")])
    model.card = list(make_conformance.FULL_CARD)
    pv.sign_model(model, test_key)
    data = write_model(model)
    back = read_model(data)
    assert back.card == model.card and back.signatures == model.signatures
    types = [s["type"] for s in describe(data)["sections"]]
    assert types[-4:] == ["LABL", "META", "CARD", "SIGN"]
    assert all(s["codec"] == 0 and s["filter"] == 0 for s in describe(data)["sections"][-2:])
    assert write_model(back) == data


# --------------------------------------------------------------------------- keys


def test_key_files(tmp_path: Path, test_key) -> None:
    assert pv.key_id(pv.load_public_key(KEYS / "test-key.pub")).hex() == TEST_KEY_ID
    assert pv.key_id(pv.load_public_key(KEYS / "other-key.ssh.pub")).hex() == OTHER_KEY_ID
    with pytest.raises(pv.KeyFileError) as err:
        pv.load_private_key(tmp_path / "missing.pem")
    assert err.value.unreadable
    with pytest.raises(pv.KeyFileError) as err:
        pv.load_public_key(KEYS / "test-key.pem")
    assert not err.value.unreadable and "PRIVATE KEY" in str(err.value)
    with pytest.raises(pv.KeyFileError) as err:
        pv.load_private_key(KEYS / "test-key.pub")
    assert not err.value.unreadable and "PUBLIC KEY" in str(err.value)
    (tmp_path / "junk").write_text("hello\n")
    with pytest.raises(pv.KeyFileError, match="not a PEM or OpenSSH key"):
        pv.load_public_key(tmp_path / "junk")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_bytes(ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "ec.pub").write_bytes(ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(pv.KeyFileError, match="not Ed25519"):
        pv.load_private_key(tmp_path / "ec.pem")
    with pytest.raises(pv.KeyFileError, match="not Ed25519"):
        pv.load_public_key(tmp_path / "ec.pub")
    (tmp_path / "rsa.ssh").write_text("ssh-rsa AAAAB3NzaC1yc2E= me\n")
    with pytest.raises(pv.KeyFileError, match="not ssh-ed25519"):
        pv.load_public_key(tmp_path / "rsa.ssh")
    (tmp_path / "bad.ssh").write_text("ssh-ed25519 AAAA!!!! me\n")
    with pytest.raises(pv.KeyFileError):
        pv.load_public_key(tmp_path / "bad.ssh")


def test_keygen(tmp_path: Path, test_pub) -> None:
    kid = pv.keygen(tmp_path / "k.pem")
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    priv, pub = pv.load_private_key(tmp_path / "k.pem"), pv.load_public_key(tmp_path / "k.pem.pub")
    assert pv.key_id(priv) == pv.key_id(pub) == kid
    with pytest.raises(FileExistsError):
        pv.keygen(tmp_path / "k.pem")
    data = pv.sign(write_model(make_model(1, 3, 2, 0, 4, "identity")), priv)
    assert pv.verify(data, [pub]).ok and pv.verify(data, [test_pub]).verdict == "unknown-key"
    # openssl reads what keygen writes, and the other way round (skipped without openssl)
    if subprocess.run(["which", "openssl"], capture_output=True).returncode == 0:
        out = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "k.pem"), "-pubout"],
                             capture_output=True, check=True).stdout
        assert out == (tmp_path / "k.pem.pub").read_bytes()


# --------------------------------------------------------------------------- card types


VALID_VALUES = {
    "name": ["x", "a" * 1024, "ünïcödé name", "\u0085 C1 control is allowed"],
    "description": ["one\ntwo", "tab\there", "x" * 65536],
    "license": ["MIT", "Apache-2.0 OR MIT", "(MIT AND BSD-3-Clause) OR GPL-2.0+",
                "GPL-2.0-only WITH Classpath-exception-2.0", "LicenseRef-my-license",
                "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "MIT OR(BSD-2-Clause)",
                "MIT  OR  BSD-2-Clause", "((MIT))", "MIT+ WITH X", "A" * 1024],
    "source.url": ["https://example.org/m.pt", "urn:x", "a+b.c-d:e", "h:/", "x:" + "y" * 2046],
    "source.sha256": ["0" * 64, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    "date": ["2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31", "2026-12-01"],
    "metrics.accuracy": ["0", "-0", "0.9822", "-1.5e-3", "1E+2", "1e308", "123456789012345678901234567890"],
    "metrics.x": ["1e-400"],  # underflows to 0.0: finite
    "metrics.": ["anything: 'metrics.' alone is untyped"],
    "Name": ["\x00 untyped keys take any text"],
    "x-anything": [""],
}
INVALID_VALUES = {
    "name": ["", "a" * 1025, "two\nlines", "tab\t", "del\x7f", "nul\x00"],
    "version": ["1.0\r"],
    "description": ["", "cr\r\n", "x" * 65537, "\x1b[31m"],
    "license": ["", "MIT OR", "(MIT", "()", "MIT and BSD", "MIT  OR  ", " MIT", "MIT ", "MIT BSD",
                "+MIT", "MIT WITH X+", "MIT\tOR BSD", "MIT/BSD", "AND", "MIT OR OR BSD", "MI+T",
                "(MIT))", "MIT WITH", "Apache-2.0 ÖR MIT", "A" * 1025],
    "source.url": ["", "example.org/m.pt", "1http://x", "https:", ":x", "https://a b",
                   "https://例え.jp", "x:" + "y" * 2047, "ht_tp://x"],
    "source.sha256": ["0" * 63, "0" * 65, "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
                      "g" * 64, " " + "0" * 63],
    "date": ["2023-02-29", "1900-02-29", "0000-01-01", "2026-1-01", "2026-13-01", "2026-00-10",
             "2026-04-31", "2026-12-01T00:00:00Z", "26-12-01", "２０２６-12-01", "2026/12/01", ""],
    "metrics.accuracy": ["01", "1.", ".5", "+1", "1e", "NaN", "Infinity", "98%", "1e999", "-1e309",
                         " 1", "1 ", "0x10", "", "1_000", "١"],
}


@pytest.mark.parametrize("key,value", [(k, v) for k, vs in VALID_VALUES.items() for v in vs])
def test_card_value_valid(key: str, value: str) -> None:
    assert check_card_value(key, value) is None
    model = replace(make_model(1, 3, 2, 0, 4, "identity"), card=[(key, value)])
    assert read_model(write_model(model, codec="none")).card == [(key, value)]


@pytest.mark.parametrize("key,value", [(k, v) for k, vs in INVALID_VALUES.items() for v in vs])
def test_card_value_invalid(key: str, value: str) -> None:
    assert check_card_value(key, value) is not None
    model = replace(make_model(1, 3, 2, 0, 4, "identity"), card=[("name", "ok"), (key, value)])
    with pytest.raises(FormatError) as err:
        write_model(model)
    assert err.value.code == "invalid-value" and key in str(err.value)
    # the reader rejects the same pair, at the CARD section
    good = replace(model, card=[("name", "ok")])
    secs = [replace(s, payload=make_conformance.pairs([(b"name", b"ok"), (key.encode(), value.encode("utf-8"))]))
            if s.type == b"CARD" else s for s in model_sections(good, codec="none")]
    err = validate_bytes(assemble(secs))
    assert err is not None and err.code == "invalid-value" and err.section == "CARD"


# --------------------------------------------------------------------------- fff-convert


def _convert_fixture(tmp_path: Path) -> Path:
    from test_convert import fff_state, safetensors_bytes
    src = tmp_path / "model.safetensors"
    src.write_bytes(safetensors_bytes(fff_state(depth=2, width_in=5, hidden=3, width_out=4, master=2)))
    return src


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    from test_convert import CLI
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_fff_convert_card_and_sign_key(tmp_path: Path, test_pub) -> None:
    src = _convert_fixture(tmp_path)
    out = tmp_path / "out.fff"
    example = ROOT / "tools" / "examples" / "card.toml"
    proc = _cli(src, "-o", out, "--no-preprocessing", "--labels", "a,b,c,d", "--card", example,
                "--sign-key", KEYS / "test-key.pem")
    assert proc.returncode == 0, proc.stderr
    model = read_model(out)
    card = dict(model.card)
    assert card["source.sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert card["license"] == "Apache-2.0 OR MIT" and card["date"] == "2026-12-01"
    assert card["metrics.accuracy"] == "0.9822" and card["x-training-run"] == "run 17, seed 3"
    assert [k for k, _ in model.card][:3] == ["name", "version", "description"]
    assert f"identity: {pv.identity(out).hex()}" in proc.stdout
    assert f"signed by key id {TEST_KEY_ID}" in proc.stdout
    assert pv.verify(out, [test_pub]).ok
    assert describe(out.read_bytes())["minor"] == 2
    # --codec none gives the same identity and a signature that verifies
    out2 = tmp_path / "out2.fff"
    proc = _cli(src, "-o", out2, "--no-preprocessing", "--labels", "a,b,c,d", "--card", example,
                "--sign-key", KEYS / "test-key.pem", "--codec", "none", "--dtype", "float32")
    assert proc.returncode == 0, proc.stderr
    assert pv.identity(out2) == pv.identity(out) and pv.verify(out2, [test_pub]).ok


def test_fff_convert_card_sha256_given_and_compact(tmp_path: Path, other_pub) -> None:
    src = _convert_fixture(tmp_path)
    card = tmp_path / "card.toml"
    card.write_text('name = "n"\ndate = "2026-01-31"\n[source]\nsha256 = "' + "ab" * 32 + '"\n'
                    '[metrics]\nloss = -1.5e-3\ncount = 7\ntext = "0.25"\n')
    out = tmp_path / "o.fff"
    proc = _cli(src, "-o", out, "--no-preprocessing", "--card", card, "--dtype", "float16",
                "--sign-key", KEYS / "other-key.pem", "-q")
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    model = read_model(out)
    assert model.card == [("name", "n"), ("source.sha256", "ab" * 32), ("date", "2026-01-31"),
                          ("metrics.loss", "-0.0015"), ("metrics.count", "7"), ("metrics.text", "0.25")]
    assert model.weight_type == "float16" and pv.verify(out, [other_pub]).ok


@pytest.mark.parametrize("text,words", [
    ('nme = "typo"\n', "unknown card key 'nme'; allowed: name, version"),
    ('name = 3\n', "card key 'name' must be a string, not an integer"),
    ('license = "MIT and BSD"\n', "card key 'license': not an SPDX license expression"),
    ('date = "2023-02-29"\n', "card key 'date': not a date"),
    ('date = 2026-12-01T10:00:00\n', "card key 'date' must be a string or a TOML date"),
    ('[source]\nurl = "example.org"\n', "card key 'source.url': not a URL"),
    ('[source]\nsha256 = "ABC"\n', "card key 'source.sha256': not a SHA-256"),
    ('[source]\npath = "x"\n', "unknown card key 'source.path'"),
    ('source = "x"\n', "card key 'source' must be a table"),
    ('[metrics]\nacc = "high"\n', "card key 'metrics.acc': not a JSON number"),
    ('[metrics]\nacc = true\n', "card key 'metrics.acc' must be a number, not a boolean"),
    ('[metrics]\nacc = nan\n', "card key 'metrics.acc' must be a finite number"),
    ('[metrics]\nacc = inf\n', "card key 'metrics.acc' must be a finite number"),
    ('name = "two\\nlines"\n', "card key 'name': a line that holds the control character U+000A"),
    ('x-list = [1, 2]\n', "card key 'x-list' must be a string, not an array"),
    ('name = \n', "not valid TOML"),
])
def test_fff_convert_card_errors(tmp_path: Path, text: str, words: str) -> None:
    src = _convert_fixture(tmp_path)
    card = tmp_path / "card.toml"
    card.write_text(text)
    out = tmp_path / "o.fff"
    proc = _cli(src, "-o", out, "--no-preprocessing", "--card", card)
    assert proc.returncode == 65, proc.stderr
    assert words in proc.stderr and str(card) in proc.stderr, proc.stderr
    assert proc.stdout == "" and not out.exists()


def test_fff_convert_key_and_card_file_errors(tmp_path: Path) -> None:
    src = _convert_fixture(tmp_path)
    out = tmp_path / "o.fff"
    proc = _cli(src, "-o", out, "--no-preprocessing", "--card", tmp_path / "missing.toml")
    assert proc.returncode == 66 and "no such card file" in proc.stderr
    proc = _cli(src, "-o", out, "--no-preprocessing", "--sign-key", tmp_path / "missing.pem")
    assert proc.returncode == 66 and "cannot read the key file" in proc.stderr
    proc = _cli(src, "-o", out, "--no-preprocessing", "--sign-key", KEYS / "test-key.pub")
    assert proc.returncode == 65 and "PKCS#8" in proc.stderr
    (tmp_path / "bad.toml").write_bytes(b"name = \"\xff\"\n")
    proc = _cli(src, "-o", out, "--no-preprocessing", "--card", tmp_path / "bad.toml")
    assert proc.returncode == 65 and "not UTF-8" in proc.stderr
    assert not out.exists()


def test_fff_convert_help_explains_card_and_signing() -> None:
    proc = _cli("--help")
    text = " ".join(proc.stdout.split())
    for words in ("--card CARD.toml", "--sign-key PRIV.pem", "SPDX", "[metrics]", "x-",
                  "fffrun verify OUT.fff --key PUB.pem", "PKCS#8", "tools/examples/card.toml",
                  "identity"):
        assert words in text, words


def test_a_file_of_1024_sections_cannot_gain_a_sign_section(test_key) -> None:
    model = make_model(1, 3, 2, 0, 4, "identity")
    secs = model_sections(model, codec="none", shuffle=False)
    secs += [RawSection(f"x{i:03x}".encode(), b"", critical=False, codec=0, filter=0, unit=0)
             for i in range(1024 - len(secs))]
    data = assemble(secs)
    assert validate_bytes(data) is None
    with pytest.raises(FormatError) as err:
        pv.sign(data, test_key)
    assert err.value.code == "limit-exceeded"
    # with a SIGN section among the 1024, signing again replaces it
    secs[-1] = RawSection(b"SIGN", b"", critical=False, codec=0, filter=0, unit=0)
    model.signatures = None
    block = pv.sign_model(model, test_key).signatures
    secs[-1] = replace(secs[-1], payload=block.encode())
    full = assemble(secs)
    assert pv.sign(full, test_key) == full


_CARD_KEYS = ["name", "description", "license", "source.url", "source.sha256", "date",
              "metrics.m", "x-free"]
_ALPHABET = "aAzZ09.:-+() \t\n\r\x00\x7f/é%eE_TOR"


def _card_property():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=400, derandomize=True, deadline=None)
    @given(key=st.sampled_from(_CARD_KEYS), value=st.text(alphabet=_ALPHABET, max_size=24))
    def check(key: str, value: str) -> None:
        """Writer and reader agree on every typed value: the writer refuses exactly what the
        reader rejects, and a written card reads back unchanged."""
        model = replace(make_model(1, 3, 2, 0, 4, "identity"), card=[(key, value)])
        problem = check_card_value(key, value)
        try:
            data = write_model(model, codec="none")
        except FormatError as err:
            assert problem is not None and err.code == "invalid-value"
            secs = [replace(s, payload=make_conformance.pairs([(key.encode(), value.encode())]))
                    if s.type == b"CARD" else s
                    for s in model_sections(replace(model, card=[]), codec="none")]
            assert validate_bytes(assemble(secs)).code == "invalid-value"
            return
        assert problem is None and read_model(data).card == [(key, value)]

    return check


test_card_writer_and_reader_agree_on_random_values = _card_property()
