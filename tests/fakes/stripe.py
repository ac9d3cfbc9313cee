"""A fake of the parts of Stripe's API that billing uses: a real HTTP server on loopback.

Speaks Stripe's wire format (form-encoded bodies with `a[b][0][c]` keys, `expand[]` in the
query, JSON answers, `{"error": {...}}` with a 4xx/5xx status) for customers, Checkout
Sessions (create/retrieve), PaymentIntents (create/retrieve; `decline = True` declines
off-session charges), charges (retrieve; `refunds` only when expanded, as in current API
versions: ten at most, then `has_more`), refunds (retrieve; list, `charge=` filter) and
disputes (retrieve; list, `charge=` filter). Lists page as Stripe's do: newest first,
`limit` (default 10, at most 100) and `starting_after`. Every request is recorded. Tests
drive the "customer" side with helpers: `pay(session_id)` completes a Checkout Session with
a card, `refund(charge_id, cents)`, `dispute(...)`, `close_dispute(dispute_id, "won")`.
`fail_status` makes every API call answer with that status (e.g. 500). `hold(method,
path_prefix)` makes matching calls wait, each with the answer as it stood when the call
arrived, until `release()`: `held()` counts them (a slow API, made deterministic)."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["FakeStripe", "StripeRequest"]


@dataclass
class StripeRequest:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`line_items[0][price_data][currency]=usd`) back to objects;
    lists come back as dicts keyed by index strings, turned into lists afterwards."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "[]":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root)


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        items = {k: _listify(v) for k, v in value.items()}
        if items and all(k.isdigit() for k in items):
            return [items[k] for k in sorted(items, key=int)]
        return items
    return value


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(8)}"


class FakeStripe:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.lock = threading.RLock()  # answer() may call refund(), which locks too
        self.requests: list[StripeRequest] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}  # in the order they were made
        self.decline = False
        self.fail_status: int | None = None
        self._hold: tuple[str, str] | None = None
        self._gate = threading.Event()
        self._held = 0
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # ----- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                pairs = parse_qsl(parts.query, keep_blank_values=True)
                pairs += parse_qsl(body, keep_blank_values=True)
                params = _nest(pairs)
                request = StripeRequest(
                    self.command,
                    parts.path,
                    params,
                    {k.lower(): v for k, v in self.headers.items()},
                )
                gate = None
                with fake.lock:
                    fake.requests.append(request)
                    if self.command == "GET" and parts.path.startswith("/pay/"):
                        status, answer = 200, {"checkout": parts.path.rsplit("/", 1)[-1]}
                    else:
                        status, answer = fake.answer(request)
                    if fake._hold is not None and (
                        self.command == fake._hold[0] and parts.path.startswith(fake._hold[1])
                    ):
                        gate = fake._gate
                        fake._held += 1
                    data = json.dumps(answer).encode()  # the answer as it is now
                if gate is not None:
                    gate.wait(60)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", _id("req"))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        self.release()
        with self.lock:
            self.requests.clear()
            self.decline = False
            self.fail_status = None

    def hold(self, method: str, path_prefix: str) -> None:
        """Matching calls get their answer (as it stood on arrival) only after `release()`."""
        with self.lock:
            self._hold = (method, path_prefix)
            self._gate = threading.Event()
            self._held = 0

    def held(self) -> int:
        with self.lock:
            return self._held

    def release(self) -> None:
        with self.lock:
            self._hold = None
            self._gate.set()

    def calls(self, method: str, path_prefix: str) -> list[StripeRequest]:
        with self.lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    # ----- the customer's side (what a card holder / Stripe's dashboard would do) ---------
    def _card(self, last4: str, brand: str) -> dict[str, Any]:
        pm = {
            "id": _id("pm"),
            "object": "payment_method",
            "type": "card",
            "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2030},
        }
        self.payment_methods[pm["id"]] = pm
        return pm

    def _charge(self, customer: str, amount: int, currency: str, pi_id: str, pm_id: str) -> str:
        charge = {
            "id": _id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_refunded": 0,
            "currency": currency,
            "customer": customer,
            "payment_intent": pi_id,
            "payment_method": pm_id,
            "paid": True,
            "refunded": False,
            "disputed": False,
            "status": "succeeded",
        }
        self.charges[charge["id"]] = charge
        return charge["id"]

    def pay(self, session_id: str, *, last4: str = "4242", brand: str = "visa") -> dict[str, Any]:
        """The customer pays a Checkout Session: it becomes complete and paid, with a
        PaymentIntent, a charge and a saved card. Returns the session."""
        with self.lock:
            session = self.sessions[session_id]
            pm = self._card(last4, brand)
            pi = {
                "id": _id("pi"),
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": session["currency"],
                "customer": session["customer"],
                "payment_method": pm["id"],
                "status": "succeeded",
                "metadata": {},
            }
            pi["latest_charge"] = self._charge(
                session["customer"], pi["amount"], pi["currency"], pi["id"], pm["id"]
            )
            self.payment_intents[pi["id"]] = pi
            session.update(status="complete", payment_status="paid", payment_intent=pi["id"])
            return json.loads(json.dumps(session))

    def refund(self, charge_id: str, amount: int | None = None) -> dict[str, Any]:
        """Refunds (part of) a charge; returns the charge as a `charge.refunded` event has it
        (current API versions: without the `refunds` list)."""
        with self.lock:
            charge = self.charges[charge_id]
            amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
            if not 0 < amount <= charge["amount"] - charge["amount_refunded"]:
                raise ValueError("Stripe refunds at most what is left of a charge")
            refund = {
                "id": _id("re"),
                "object": "refund",
                "amount": amount,
                "currency": charge["currency"],
                "charge": charge_id,
                "payment_intent": charge["payment_intent"],
                "status": "succeeded",
                "created": int(time.time()),
            }
            self.refunds[refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            return json.loads(json.dumps(charge))

    def dispute(self, charge_id: str, amount: int | None = None) -> dict[str, Any]:
        with self.lock:
            charge = self.charges[charge_id]
            dispute = {
                "id": _id("dp"),
                "object": "dispute",
                "amount": charge["amount"] if amount is None else amount,
                "currency": charge["currency"],
                "charge": charge_id,
                "payment_intent": charge["payment_intent"],
                "status": "needs_response",
                "reason": "fraudulent",
                "created": int(time.time()),
            }
            self.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            return json.loads(json.dumps(dispute))

    def close_dispute(self, dispute_id: str, status: str) -> dict[str, Any]:
        """The bank decides (`won`, `lost`): the dispute as `charge.dispute.closed` has it."""
        with self.lock:
            dispute = self.disputes[dispute_id]
            dispute["status"] = status
            return json.loads(json.dumps(dispute))

    # ----- the API -----------------------------------------------------------------------
    def answer(self, request: StripeRequest) -> tuple[int, dict[str, Any]]:
        if not request.headers.get("authorization", "").startswith("Bearer sk_"):
            return 401, {"error": {"type": "invalid_request_error", "message": "No API key."}}
        if self.fail_status is not None:
            return self.fail_status, {"error": {"type": "api_error", "message": "fake failure"}}
        method, path, params = request.method, request.path, request.params
        expand = params.get("expand") or []
        if method == "POST" and path == "/v1/customers":
            customer = {
                "id": _id("cus"),
                "object": "customer",
                "email": params.get("email"),
                "metadata": params.get("metadata", {}),
            }
            self.customers[customer["id"]] = customer
            return 200, customer
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params)
        match = re.fullmatch(r"/v1/checkout/sessions/([\w]+)", path)
        if method == "GET" and match:
            session = self.sessions.get(match.group(1))
            if session is None:
                return self._missing("checkout session")
            session = json.loads(json.dumps(session))
            if "payment_intent" in expand or "payment_intent.payment_method" in expand:
                pi = session.get("payment_intent")
                if pi:
                    session["payment_intent"] = self._pi_view(pi, expand)
            return 200, session
        if method == "POST" and path == "/v1/payment_intents":
            return self._create_payment_intent(params)
        match = re.fullmatch(r"/v1/payment_intents/([\w]+)", path)
        if method == "GET" and match:
            if match.group(1) not in self.payment_intents:
                return self._missing("payment intent")
            return 200, self._pi_view(match.group(1), [f"payment_intent.{e}" for e in expand])
        match = re.fullmatch(r"/v1/charges/([\w]+)", path)
        if method == "GET" and match:
            if match.group(1) not in self.charges:
                return self._missing("charge")
            return 200, self._charge_view(match.group(1), expand)
        match = re.fullmatch(r"/v1/charges/([\w]+)/refunds", path)
        if method == "GET" and match:
            if match.group(1) not in self.charges:
                return self._missing("charge")
            return self._list(self._refunds_of(match.group(1)), path, params)
        if method == "POST" and path == "/v1/refunds":
            pi = self.payment_intents.get(str(params.get("payment_intent", "")))
            if pi is None:
                return self._missing("payment intent")
            amount = int(params["amount"]) if params.get("amount") else None
            try:
                self.refund(pi["latest_charge"], amount)
            except ValueError as error:
                return 400, {"error": {"type": "invalid_request_error", "message": str(error)}}
            return 200, json.loads(json.dumps(list(self.refunds.values())[-1]))
        if method == "GET" and path == "/v1/refunds":
            refunds = list(reversed(self.refunds.values()))
            if params.get("charge"):
                refunds = [r for r in refunds if r["charge"] == params["charge"]]
            return self._list(refunds, path, params)
        match = re.fullmatch(r"/v1/refunds/([\w]+)", path)
        if method == "GET" and match:
            refund = self.refunds.get(match.group(1))
            return (200, json.loads(json.dumps(refund))) if refund else self._missing("refund")
        if method == "GET" and path == "/v1/disputes":
            disputes = list(reversed(self.disputes.values()))
            if params.get("charge"):
                disputes = [d for d in disputes if d["charge"] == params["charge"]]
            return self._list(disputes, path, params)
        match = re.fullmatch(r"/v1/disputes/([\w]+)", path)
        if method == "GET" and match:
            dispute = self.disputes.get(match.group(1))
            if dispute is None:
                return self._missing("dispute")
            dispute = json.loads(json.dumps(dispute))
            if "charge" in expand or "charge.refunds" in expand:
                nested = [e.removeprefix("charge.") for e in expand if e.startswith("charge.")]
                dispute["charge"] = self._charge_view(dispute["charge"], nested)
            return 200, dispute
        return 404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}

    def _missing(self, what: str) -> tuple[int, dict[str, Any]]:
        return 404, {
            "error": {"type": "invalid_request_error", "code": "resource_missing", "message": what}
        }

    def _refunds_of(self, charge_id: str) -> list[dict[str, Any]]:
        return [r for r in reversed(self.refunds.values()) if r["charge"] == charge_id]

    def _charge_view(self, charge_id: str, expand: list[str]) -> dict[str, Any]:
        charge = json.loads(json.dumps(self.charges[charge_id]))
        if "refunds" in expand:
            refunds = self._refunds_of(charge_id)
            charge["refunds"] = {
                "object": "list",
                "data": json.loads(json.dumps(refunds[:10])),
                "has_more": len(refunds) > 10,
                "total_count": len(refunds),
                "url": f"/v1/charges/{charge_id}/refunds",
            }
        return charge

    def _list(
        self, items: list[dict[str, Any]], url: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """One page of a list (items newest first), as Stripe pages its lists."""
        try:
            limit = int(params.get("limit") or 10)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return 400, {"error": {"type": "invalid_request_error", "param": "limit"}}
        start = 0
        after = params.get("starting_after")
        if after:
            ids = [item["id"] for item in items]
            if after not in ids:
                return self._missing("starting_after")
            start = ids.index(after) + 1
        page = items[start : start + limit]
        return 200, {
            "object": "list",
            "data": json.loads(json.dumps(page)),
            "has_more": start + limit < len(items),
            "url": url,
        }

    def _pi_view(self, pi_id: str, expand: list[str]) -> dict[str, Any]:
        pi = json.loads(json.dumps(self.payment_intents[pi_id]))
        if "payment_intent.payment_method" in expand and pi.get("payment_method"):
            pi["payment_method"] = self.payment_methods[pi["payment_method"]]
        return pi

    def _create_session(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = params.get("line_items") or []
        try:
            amount = sum(
                int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
                for item in items
            )
            currency = items[0]["price_data"]["currency"]
        except (KeyError, IndexError, ValueError):
            return 400, {"error": {"type": "invalid_request_error", "message": "bad line_items"}}
        if params.get("customer") and params["customer"] not in self.customers:
            return self._missing("customer")
        session_id = "cs_test_" + secrets.token_hex(12)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode"),
            "amount_total": amount,
            "currency": currency,
            "customer": params.get("customer"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "payment_status": "unpaid",
            "status": "open",
            "payment_intent": None,
            "url": f"{self.url}/pay/{session_id}",
            "created": int(time.time()),
        }
        self.sessions[session_id] = session
        return 200, session

    def _create_payment_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        customer, pm_id = params.get("customer"), params.get("payment_method")
        if customer not in self.customers or pm_id not in self.payment_methods:
            return self._missing("customer or payment method")
        pi = {
            "id": _id("pi"),
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params.get("currency"),
            "customer": customer,
            "payment_method": pm_id,
            "metadata": params.get("metadata", {}),
            "status": "requires_payment_method" if self.decline else "succeeded",
        }
        self.payment_intents[pi["id"]] = pi
        if self.decline:
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                    "payment_intent": pi,
                }
            }
        pi["latest_charge"] = self._charge(customer, pi["amount"], pi["currency"], pi["id"], pm_id)
        return 200, pi
