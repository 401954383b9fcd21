"""The financing story over HTTP, through a client generated from
schemas/openapi.json by openapi-python-client (tests/it/api/client.rs).

Usage: story.py BASE_URL ADMIN_KEY CLIENT_PARENT_DIR

Parties, API keys, signing keys, a facility, a commitment signed by brand
and maker, availability, an advance requested and approved with signed
documents, a delivery, a brand-signed payment notice, a settlement run and
the remittance. Documents are dated around today: the API checks them
against its clock. Exits non-zero at the first unexpected answer.
"""

import base64
import datetime as dt
import hashlib
import json
import sys
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BASE, ADMIN_KEY, CLIENT_DIR = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, CLIENT_DIR)

from offtake_client import AuthenticatedClient  # noqa: E402
from offtake_client.api.advances import approve_advance, request_advance  # noqa: E402
from offtake_client.api.commitments import deliver_tranche, submit_commitment  # noqa: E402
from offtake_client.api.facilities import accept_facility, availability, fund_lender, open_facility  # noqa: E402
from offtake_client.api.keys import issue_api_key  # noqa: E402
from offtake_client.api.parties import create_party  # noqa: E402
from offtake_client.api.payments import settlement_run, statement, submit_payment  # noqa: E402
from offtake_client.api.signing import register_signing_key  # noqa: E402
from offtake_client import models  # noqa: E402


def idem():
    return "client-" + uuid.uuid4().hex


def ok(answer, kind):
    """The typed object, or exit with what came back instead."""
    if not isinstance(answer, kind):
        sys.exit(f"expected {kind.__name__}, got {answer!r}")
    return answer


def client(key):
    return AuthenticatedClient(base_url=BASE, token=key, raise_on_unexpected_status=True)


class Signer:
    def __init__(self, party):
        self.party = party
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_hex = raw.hex()
        self.key_id = hashlib.sha256(raw).digest()[:16].hex()


def pae(payload_type, body):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def envelope(doc, *signers):
    """A DSSE envelope of `doc` (RFC 8785 canonical JSON: our documents
    hold only ASCII strings and integers, which sorted compact json.dumps
    writes canonically) signed by each signer."""
    body = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    payload_type = f"application/vnd.offtake.{doc['type']}+json"
    sigs = [
        models.SignatureInput(keyid=s.key_id, sig=base64.b64encode(s.key.sign(pae(payload_type, body))).decode())
        for s in signers
    ]
    return models.EnvelopeInput(payload=base64.b64encode(body).decode(), payload_type=payload_type, signatures=sigs)


def header(doc_type, doc_id, issued_at):
    return {
        "type": doc_type,
        "version": 1,
        "doc_id": doc_id,
        "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": (issued_at + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nonce": "client-nonce-" + uuid.uuid4().hex,
    }


def main():
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    today = now.date()
    admin = client(ADMIN_KEY)
    suffix = uuid.uuid4().hex[:6]
    ids = {"brand": f"acme-{suffix}", "maker": f"loom-{suffix}", "lender": f"bank-{suffix}"}
    signers, keys = {}, {}
    for kind, pid in ids.items():
        party = ok(
            create_party.sync(
                client=admin,
                body=models.CreateParty(id=pid, kind=models.PartyKind(kind), name=pid),
                idempotency_key=idem(),
            ),
            models.Party,
        )
        assert party.id == pid and party.kind.value == kind, party
        issued = ok(
            issue_api_key.sync(
                client=admin, body=models.IssueKey(party_id=pid, role=models.Role(kind)), idempotency_key=idem()
            ),
            models.IssuedApiKey,
        )
        keys[kind] = client(issued.key)
        signers[kind] = Signer(pid)
        registered = ok(
            register_signing_key.sync(
                client=keys[kind],
                body=models.RegisterSigningKey(
                    party_id=pid,
                    public_key_hex=signers[kind].public_hex,
                    valid_from=(now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                ),
                idempotency_key=idem(),
            ),
            models.SigningKey,
        )
        assert registered.key_id == signers[kind].key_id, registered

    lender, maker, brand = keys["lender"], keys["maker"], keys["brand"]
    facility = f"f-{suffix}"
    ok(
        fund_lender.sync(
            ids["lender"],
            client=lender,
            body=models.FundLender(amount="500000.00", currency="USD", reference=f"wire-{suffix}", on=today),
            idempotency_key=idem(),
        ),
        models.Funded,
    )
    ok(
        open_facility.sync(
            client=lender,
            body=models.OpenFacility(
                id=facility, lender=ids["lender"], maker=ids["maker"], currency="USD", limit="300000.00",
                advance_rate_bps=8000, concentration_bps=10000, day_count="act360", default_margin_bps=400,
                eligibility_days=180, fee_bps=100, grace_days=5, late_fee_bps=100, rate_bps=1200,
                rounding="half_even", opened_on=today,
            ),
            idempotency_key=idem(),
        ),
        models.Facility,
    )
    # A facility is an offer until its maker signs the acceptance.
    acceptance = {
        **header("facility_acceptance", f"accept-{suffix}", now - dt.timedelta(hours=1)),
        "facility": facility, "lender": ids["lender"], "maker": ids["maker"],
    }
    f = ok(
        accept_facility.sync(
            facility, client=maker, body=envelope(acceptance, signers["maker"]), idempotency_key=idem()
        ),
        models.Facility,
    )
    assert f.status == "open", f

    commitment = {
        **header("commitment", f"po-{suffix}", now - dt.timedelta(hours=1)),
        "brand": ids["brand"], "maker": ids["maker"], "currency": "USD", "status": "active", "prev_hash": None,
        "tranches": [{
            "id": "t1", "quantity": "1000", "unit_price": "200.00",
            "delivery_start": (today + dt.timedelta(days=30)).isoformat(),
            "delivery_end": (today + dt.timedelta(days=60)).isoformat(),
        }],
        "terms": {"payment_days": 30, "shortfall_pct": "10"},
    }
    c = ok(
        submit_commitment.sync(
            client=brand, body=envelope(commitment, signers["brand"], signers["maker"]), idempotency_key=idem()
        ),
        models.Commitment,
    )
    assert c.memo_booked.amount_minor == 20_000_000, c

    a = ok(availability.sync(facility, client=maker, as_of=today), models.Availability)
    assert a.available.amount_minor == 16_000_000, a

    request = {
        **header("advance_request", f"adv-{suffix}", now - dt.timedelta(minutes=30)),
        "facility": facility, "maker": ids["maker"], "amount": "80000.00", "currency": "USD",
    }
    adv = ok(
        request_advance.sync(client=maker, body=envelope(request, signers["maker"]), idempotency_key=idem()),
        models.Advance,
    )
    assert adv.status.value == "pending", adv
    approval = {
        **header("advance_approval", f"apr-{suffix}", now - dt.timedelta(minutes=20)),
        "facility": facility, "lender": ids["lender"], "request_hash": adv.request_hash, "decision": "approve",
    }
    funded = ok(
        approve_advance.sync(
            adv.id, client=lender, body=envelope(approval, signers["lender"]), idempotency_key=idem()
        ),
        models.Advance,
    )
    assert funded.status.value == "funded" and funded.fee.amount_minor == 80_000, funded

    invoice = ok(
        deliver_tranche.sync(
            f"po-{suffix}", "t1", client=maker, body=models.Delivery(delivered_on=today.isoformat()), idempotency_key=idem()
        ),
        models.Invoice,
    )
    assert invoice.amount.amount_minor == 20_000_000, invoice

    notice = {
        **header("payment_notice", f"pay-{suffix}", now - dt.timedelta(minutes=10)),
        "brand": ids["brand"], "facility": facility, "amount": "150000.00", "currency": "USD",
        "value_date": today.isoformat(), "external_ref": f"bank-{suffix}",
    }
    paid = ok(
        submit_payment.sync(client=brand, body=envelope(notice, signers["brand"]), idempotency_key=idem()),
        models.Payment,
    )
    assert paid.status.value == "queued", paid
    run = ok(settlement_run.sync(client=admin, idempotency_key=idem()), models.RunReport)
    assert run.applied >= 1, run
    st = ok(statement.sync(facility, client=maker), models.RemittanceStatement)
    assert len(st.lines) == 1 and st.payable.amount_minor > 0, st
    print(f"story ok: facility {facility}, remainder payable {st.payable.amount}")


main()
