#!/usr/bin/env python3
"""Independent check of the offtake signing vectors (Python + `cryptography`).

Verifies, without any offtake code: key ids (first 16 bytes of SHA-256 of the
public key, hex), the canonical body (our documents hold only strings, small
integers and ASCII keys, so sorted keys + compact separators equal RFC 8785
for them), the DSSE PAE bytes, the body hash and every Ed25519 signature of
the valid envelopes. Run: python3 tests/vectors/check.py
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

here = os.path.dirname(os.path.abspath(__file__))


def load(name, mode="r"):
    with open(os.path.join(here, name), mode) as f:
        return json.load(f) if name.endswith(".json") and mode == "r" else f.read()


def pae(payload_type, body):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


keys = {k["key_id"]: k for k in load("keys.json")}
for k in keys.values():
    assert hashlib.sha256(bytes.fromhex(k["public_key"])).hexdigest()[:32] == k["key_id"], k

canonical = load("commitment.canonical.json", "rb")
doc = load("commitment.input.json")
assert json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == canonical
assert hashlib.sha256(canonical).hexdigest() == load("commitment.body_hash.txt").strip()

for name in ["commitment", "advance_request", "advance_approval", "payment_notice"]:
    env = load(name + ".envelope.json")
    body = base64.b64decode(env["payload"], validate=True)
    if name == "commitment":
        assert body == canonical
        assert pae(env["payloadType"], body) == load("commitment.pae.bin", "rb")
    for s in env["signatures"]:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(keys[s["keyid"]]["public_key"]))
        key.verify(base64.b64decode(s["sig"], validate=True), pae(env["payloadType"], body))
print("all vector checks passed")
sys.exit(0)
