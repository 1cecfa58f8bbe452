"""Provenance of FFF model files (format 1.2, spec §13.1 ... §13.4): identity, card, signatures.

- :func:`identity` names the stored model: SHA-256 over the decoded payloads of its critical
  sections (spec §13.2). Recompressing a file or changing its metadata keeps it; changing any
  byte of the weights, the shape or the preprocessing changes it.
- :func:`card_digest` and :func:`labels_digest` are the SHA-256 of the decoded ``CARD`` and
  ``LABL`` payloads (32 zero bytes without the section).
- :func:`sign` adds (or replaces, for the same key) an Ed25519 signature over the identity and
  the two digests; :func:`verify` checks a file against trusted public keys and returns a
  :class:`Verdict`: ``unsigned``, ``unknown-key``, ``bad-signature`` or ``good-signature``.
- :func:`load_private_key`, :func:`load_public_key` (PKCS#8 PEM; SubjectPublicKeyInfo PEM or an
  OpenSSH ``ssh-ed25519`` line), :func:`keygen`, :func:`key_id`.

SHA-256 is :mod:`hashlib`; Ed25519 is the ``cryptography`` package (imported only when a key is
used: computing identities needs nothing beyond the standard library and pyfff).

Signing rewrites nothing but the SIGN section (spec §13.4): every other section keeps its stored
bytes, codec, filter and table fields, so a signed file decodes to the same payloads.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .format import (
    ENTRY_SIZE, HEADER_SIZE, MAX_SECTIONS, SECTION_CRITICAL, SIGN_ALGORITHM_ED25519, FormatError, Model,
    RawSection, Signature, SignatureBlock, _atomic_write, _parse_entry, assemble, model_sections,
    read_model_payloads,
)

__all__ = [
    "CRITICAL_ORDER", "IDENTITY_PREFIX", "SIGNED_PREFIX", "VERDICTS", "KeyFileError",
    "ProvenanceError", "Verdict", "card_digest", "identity", "identity_message", "key_id",
    "keygen", "labels_digest", "load_private_key", "load_public_key", "payloads_of", "public_key_bytes",
    "sign", "sign_model", "signed_message", "verify",
]

#: The 8 bytes that start the identity message: "FFFID1" and two zero bytes.
IDENTITY_PREFIX = b"FFFID1\x00\x00"
#: The 8 bytes that start the signed message: "FFFSIG1" and a zero byte.
SIGNED_PREFIX = b"FFFSIG1\x00"
#: The critical sections in the order of spec §6, the order they enter the identity.
CRITICAL_ORDER: tuple[bytes, ...] = tuple(t for t, critical in SECTION_CRITICAL.items() if critical)
#: Verification verdicts (spec §13.5), shared with the Swift library and fffrun.
VERDICTS = ("unsigned", "unknown-key", "bad-signature", "good-signature")
ZERO_DIGEST = bytes(32)


class ProvenanceError(Exception):
    """Signing refused (stale signatures, a file that is not valid, ...)."""


class KeyFileError(Exception):
    """A key file that cannot be used. ``unreadable`` is true when it could not be read at all
    (fffrun and fff-convert exit 66), false when it was read but is not an Ed25519 key in a
    supported encoding (exit 65)."""

    def __init__(self, message: str, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.unreadable = unreadable


# ---------------------------------------------------------------------------------------------
# Identity and digests
# ---------------------------------------------------------------------------------------------


def payloads_of(source: Any) -> dict[bytes, bytes]:
    """The decoded payload of every known section of ``source``: a path or file bytes (read and
    fully validated: raises :class:`pyfff.format.FormatError` for an invalid file), or a
    :class:`Model`, whose payloads are those :func:`pyfff.format.write_model` would write."""
    if isinstance(source, Model):
        return {s.type: s.payload for s in model_sections(source, codec="none", shuffle=False)}
    if isinstance(source, dict):
        return source
    return read_model_payloads(source)[1]


def identity_message(source: Any) -> bytes:
    """The message whose SHA-256 is the identity (spec §13.2): ``FFFID1\\0\\0``, then for each
    critical section present, in §6 order, its type, its decoded length (u64 LE) and payload."""
    payloads = payloads_of(source)
    parts = [IDENTITY_PREFIX]
    for t in CRITICAL_ORDER:
        if t in payloads:
            parts += [t, struct.pack("<Q", len(payloads[t])), payloads[t]]
    return b"".join(parts)


def identity(source: Any) -> bytes:
    """The identity (32 bytes; ``.hex()`` for the 64 lowercase hex digits) of a valid file (path
    or bytes) or of a :class:`Model` as :func:`~pyfff.format.write_model` writes it."""
    return hashlib.sha256(identity_message(source)).digest()


def card_digest(source: Any) -> bytes:
    """SHA-256 of the decoded CARD payload, or 32 zero bytes when there is no CARD section."""
    p = payloads_of(source).get(b"CARD")
    return ZERO_DIGEST if p is None else hashlib.sha256(p).digest()


def labels_digest(source: Any) -> bytes:
    """SHA-256 of the decoded LABL payload, or 32 zero bytes when there is no LABL section."""
    p = payloads_of(source).get(b"LABL")
    return ZERO_DIGEST if p is None else hashlib.sha256(p).digest()


def _digests(payloads: dict[bytes, bytes]) -> tuple[bytes, bytes, bytes]:
    return identity(payloads), card_digest(payloads), labels_digest(payloads)


def signed_message(ident: bytes, card: bytes, labels: bytes) -> bytes:
    """The 104 bytes Ed25519 signs (spec §13.4): ``FFFSIG1\\0`` || identity || card digest ||
    labels digest."""
    if not len(ident) == len(card) == len(labels) == 32:
        raise ValueError("identity and digests are 32 bytes each")
    return SIGNED_PREFIX + ident + card + labels


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("signing and verifying FFF files needs the 'cryptography' package "
                          "(pip install 'cryptography>=41', see tools/requirements.txt)") from err
    return serialization, ed25519


def public_key_bytes(key: Any) -> bytes:
    """The raw 32-byte Ed25519 public key of a private or public key object, or of raw bytes."""
    if isinstance(key, (bytes, bytearray)):
        if len(key) != 32:
            raise ValueError(f"a raw Ed25519 public key is 32 bytes, not {len(key)}")
        return bytes(key)
    serialization, ed25519 = _crypto()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise TypeError(f"not an Ed25519 key: {type(key).__name__}")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Any) -> bytes:
    """SHA-256 of the raw 32-byte public key (of a private or public key, or raw bytes)."""
    return hashlib.sha256(public_key_bytes(key)).digest()


def _read_key_file(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(1 << 20)
    except OSError as err:
        raise KeyFileError(f"{os.fspath(path)}: cannot read the key file: {err.strerror or err}",
                           unreadable=True) from None


def _describe_key(data: bytes) -> str:
    text = data.lstrip()
    if text.startswith(b"-----BEGIN "):
        label = text[11:text.find(b"-----", 11)].decode("ascii", "replace")
        return f"a PEM file labelled {label!r}"
    if text.startswith(b"ssh-"):
        return f"an OpenSSH key of type {text.split()[0].decode('ascii', 'replace')!r}"
    return "not a PEM or OpenSSH key"


def load_private_key(path: str | os.PathLike) -> Any:
    """An Ed25519 private key from a PKCS#8 PEM file (``-----BEGIN PRIVATE KEY-----``, as
    ``openssl genpkey -algorithm ed25519`` and :func:`keygen` write). Unencrypted only."""
    serialization, ed25519 = _crypto()
    data = _read_key_file(path)
    name = os.fspath(path)
    if b"-----BEGIN PRIVATE KEY-----" not in data:
        raise KeyFileError(f"{name}: expected an Ed25519 private key in PKCS#8 PEM "
                           f"(-----BEGIN PRIVATE KEY-----); this is {_describe_key(data)}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise KeyFileError(f"{name}: cannot load the private key: {err}") from None
    except Exception as err:  # UnsupportedAlgorithm and friends
        raise KeyFileError(f"{name}: cannot load the private key: {err}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyFileError(f"{name}: the private key is {type(key).__name__.replace('_', '')}, "
                           "not Ed25519")
    return key


def load_public_key(path: str | os.PathLike) -> Any:
    """An Ed25519 public key from a SubjectPublicKeyInfo PEM file (``-----BEGIN PUBLIC
    KEY-----``, as ``openssl pkey -pubout`` writes) or an OpenSSH line ``ssh-ed25519 AAAA...``."""
    serialization, ed25519 = _crypto()
    data = _read_key_file(path)
    name = os.fspath(path)
    stripped = data.strip()
    try:
        if stripped.startswith(b"-----BEGIN PUBLIC KEY-----"):
            key = serialization.load_pem_public_key(data)
        elif stripped.startswith(b"ssh-"):
            if not stripped.startswith(b"ssh-ed25519 "):
                raise KeyFileError(f"{name}: the OpenSSH key is {stripped.split()[0].decode('ascii', 'replace')}, "
                                   "not ssh-ed25519")
            key = _load_openssh_ed25519(stripped.split(b"\n")[0], name)
        else:
            raise KeyFileError(f"{name}: expected an Ed25519 public key as SubjectPublicKeyInfo PEM "
                               f"(-----BEGIN PUBLIC KEY-----) or an OpenSSH ssh-ed25519 line; this is "
                               f"{_describe_key(data)}")
    except KeyFileError:
        raise
    except Exception as err:
        raise KeyFileError(f"{name}: cannot load the public key: {err}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyFileError(f"{name}: the public key is {type(key).__name__.lstrip('_')}, not Ed25519")
    return key


def _load_openssh_ed25519(line: bytes, name: str) -> Any:
    """Parse ``ssh-ed25519 BASE64 [comment]`` exactly (RFC 4253 §6.6, RFC 8709 §4)."""
    _, ed25519 = _crypto()
    fields = line.split()
    if len(fields) < 2:
        raise KeyFileError(f"{name}: the ssh-ed25519 line has no key")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except ValueError:
        raise KeyFileError(f"{name}: the ssh-ed25519 key is not base64") from None
    parts, pos = [], 0
    while pos < len(blob):
        if pos + 4 > len(blob):
            raise KeyFileError(f"{name}: the ssh-ed25519 key blob is truncated")
        (n,) = struct.unpack_from(">I", blob, pos)
        if pos + 4 + n > len(blob):
            raise KeyFileError(f"{name}: the ssh-ed25519 key blob is truncated")
        parts.append(blob[pos + 4:pos + 4 + n])
        pos += 4 + n
    if len(parts) != 2 or parts[0] != b"ssh-ed25519" or len(parts[1]) != 32:
        raise KeyFileError(f"{name}: the ssh-ed25519 key blob is not an Ed25519 public key")
    return ed25519.Ed25519PublicKey.from_public_bytes(parts[1])


def keygen(private_path: str | os.PathLike, public_path: str | os.PathLike | None = None) -> bytes:
    """Make a new Ed25519 key: the private key as PKCS#8 PEM at ``private_path`` (mode 0600,
    refusing to overwrite) and its public key as SubjectPublicKeyInfo PEM at ``public_path``
    (default: ``private_path`` with ``.pub``). Returns the key id."""
    serialization, ed25519 = _crypto()
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    public_path = public_path if public_path is not None else os.fspath(private_path) + ".pub"
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    with open(public_path, "xb") as f:
        f.write(pub)
    return key_id(key)


# ---------------------------------------------------------------------------------------------
# Signing
# ---------------------------------------------------------------------------------------------


def _add_signature(block: SignatureBlock | None, digests: tuple[bytes, bytes, bytes], private_key: Any,
                   drop_stale: bool) -> SignatureBlock:
    ident, card, labels = digests
    old: list[Signature] = []
    if block is not None:
        stale = [what for what, mine, theirs in (("identity", ident, block.identity),
                                                 ("card digest", card, block.card_digest),
                                                 ("labels digest", labels, block.labels_digest))
                 if mine != theirs]
        if stale and not drop_stale:
            raise ProvenanceError(
                f"the file's {len(block.signatures)} existing signature(s) are stale (their "
                f"{', '.join(stale)} differ{'s' if len(stale) == 1 else ''} from the file's): "
                "they no longer verify; sign with drop_stale (fffrun sign --drop-stale) to "
                "replace them with the new signature alone")
        if not stale:
            old = list(block.signatures)
    kid = key_id(private_key)
    sig = Signature(SIGN_ALGORITHM_ED25519, kid, private_key.sign(signed_message(ident, card, labels)))
    for j, s in enumerate(old):
        if bytes(s.key_id) == kid:
            old[j] = sig
            break
    else:
        old.append(sig)
    if len(old) > 256:
        raise ProvenanceError("a SIGN section holds at most 256 signatures")
    return SignatureBlock(ident, card, labels, old)


def sign_model(model: Model, private_key: Any, *, drop_stale: bool = False) -> Model:
    """Sign ``model`` in memory (sets ``model.signatures``; returns it): the identity and the
    digests are those of the file :func:`~pyfff.format.write_model` writes."""
    payloads = payloads_of(model)
    model.signatures = _add_signature(model.signatures, _digests(payloads), private_key, drop_stale)
    return model


def sign(source: Any, private_key: Any, output: str | os.PathLike | None = None, *,
         drop_stale: bool = False) -> bytes:
    """Sign a valid file (path or bytes) and return the signed file's bytes (also written to
    ``output``, atomically, when given). Only the SIGN section changes (spec §13.4): it replaces
    an existing one in place or is appended as the last section; the other sections keep their
    stored bytes and table fields, the header its flags, and the minor version becomes at least 2.

    A file whose SIGN digests differ from its own (stale signatures) is refused with
    :class:`ProvenanceError` unless ``drop_stale``, which then keeps only the new signature. A
    signature by the same key is replaced; others are kept in order.
    """
    data = source if isinstance(source, (bytes, bytearray)) else _read_file(source)
    data = bytes(data)
    model, payloads = read_model_payloads(data)
    block = _add_signature(model.signatures, _digests(payloads), private_key, drop_stale)
    out = _replace_sign(data, block.encode())
    if output is not None:
        _atomic_write(os.fspath(output), out)
    return out


def _read_file(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _replace_sign(data: bytes, sign_payload: bytes) -> bytes:
    """``data`` (a valid file) with its SIGN section replaced or appended (spec §13.4)."""
    major, minor, count, _, header_flags = struct.unpack_from("<HHIQI", data, 8)
    trailer = HEADER_SIZE + ENTRY_SIZE * count
    (trailer_reserved,) = struct.unpack_from("<I", data, trailer + 4)
    new = RawSection(b"SIGN", sign_payload, critical=False, codec=0, filter=0, unit=0)
    sections: list[RawSection] = []
    for index in range(count):
        e = _parse_entry(data, index)
        if e.type == b"SIGN":
            sections.append(new)
            continue
        stored = data[e.offset:e.offset + e.stored]
        sections.append(RawSection(e.type, b"", critical=bool(e.flags & 1), codec=e.codec,
                                   filter=e.filter, unit=e.unit, flags_override=e.flags,
                                   stored_override=stored, decoded_length_override=e.decoded,
                                   reserved=e.reserved))
    if not any(s is new for s in sections):
        if len(sections) >= MAX_SECTIONS:
            raise FormatError("limit-exceeded", f"the file has {len(sections)} sections; a SIGN "
                              f"section would exceed the limit of {MAX_SECTIONS}", "header", 12)
        sections.append(new)
    return assemble(sections, major=major, minor=max(minor, 2), header_flags=header_flags,
                    trailer_reserved=trailer_reserved)


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The result of :func:`verify`: ``verdict`` is one of :data:`VERDICTS`; ``message`` says why
    in words; ``key_ids`` are the trusted keys whose signatures verified (good-signature), failed
    (bad-signature), or, for unknown-key, the key ids the file holds; ``identity`` the file's."""

    verdict: str
    message: str
    identity: bytes
    key_ids: list[bytes] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict == "good-signature"

    def as_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "identity": self.identity.hex(),
                "key_ids": [k.hex() for k in self.key_ids], "message": self.message}


def verify(source: Any, keys: Iterable[Any]) -> Verdict:
    """Verify a file (path or bytes) against trusted public keys (key objects or raw 32-byte
    keys), by the steps of spec §13.5. An invalid file raises :class:`FormatError` (its spec
    error), never a verdict."""
    data = source if isinstance(source, (bytes, bytearray)) else _read_file(source)
    model, payloads = read_model_payloads(bytes(data))
    ident, card, labels = _digests(payloads)
    block = model.signatures
    if block is None:
        return Verdict("unsigned", "the file has no SIGN section: it is not signed", ident)
    for mine, theirs, why in (
            (ident, block.identity, "the model's weights, shape or preprocessing changed since it "
             "was signed (its identity differs from the signed one)"),
            (card, block.card_digest, "the model card changed since the model was signed (its "
             "digest differs from the signed one)"),
            (labels, block.labels_digest, "the labels changed since the model was signed (their "
             "digest differs from the signed one)")):
        if mine != theirs:
            return Verdict("bad-signature", why, ident)
    trusted = {key_id(k): k for k in keys}
    message = signed_message(ident, card, labels)
    checked = [s for s in block.signatures
               if s.algorithm == SIGN_ALGORITHM_ED25519 and bytes(s.key_id) in trusted]
    if not checked:
        held = [bytes(s.key_id) for s in block.signatures]
        return Verdict("unknown-key", "no signature by a trusted key; the file is signed by key "
                       f"id(s) {', '.join(k.hex() for k in held)}", ident, held)
    _, ed25519 = _crypto()
    good, bad = [], []
    for s in checked:
        key = trusted[bytes(s.key_id)]
        if isinstance(key, (bytes, bytearray)):
            key = ed25519.Ed25519PublicKey.from_public_bytes(bytes(key))
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            key = key.public_key()
        try:
            key.verify(bytes(s.signature), message)
            good.append(bytes(s.key_id))
        except Exception:  # cryptography.exceptions.InvalidSignature
            bad.append(bytes(s.key_id))
    if bad:
        return Verdict("bad-signature", "the signature by trusted key id(s) "
                       f"{', '.join(k.hex() for k in bad)} does not verify: the file was changed "
                       "after signing or the signature is forged", ident, bad)
    return Verdict("good-signature", f"signed by trusted key id(s) {', '.join(k.hex() for k in good)}",
                   ident, good)


def trusted_keys(paths: Sequence[str | os.PathLike]) -> list[Any]:
    """:func:`load_public_key` of each path."""
    return [load_public_key(p) for p in paths]
