"""A fake of the parts of Stripe's API that billing uses: a real HTTP server on loopback.

Speaks Stripe's wire format (form-encoded bodies with `a[b][0][c]` keys, `expand[]` in the
query, JSON answers, `{"error": {...}}` with a 4xx/5xx status) for customers, Checkout
Sessions (create/retrieve), PaymentIntents (create/retrieve; `decline = True` declines
off-session charges), charges (retrieve, refunds included) and disputes (retrieve). Every
request is recorded. Tests drive the "customer" side with helpers: `pay(session_id)`
completes a Checkout Session with a card, `refund(charge_id, cents)`, `dispute(...)`.
`fail_status` makes every API call answer with that status (e.g. 500)."""

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
        self.lock = threading.Lock()
        self.requests: list[StripeRequest] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self.decline = False
        self.fail_status: int | None = None
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
                with fake.lock:
                    fake.requests.append(request)
                    if self.command == "GET" and parts.path.startswith("/pay/"):
                        status, answer = 200, {"checkout": parts.path.rsplit("/", 1)[-1]}
                    else:
                        status, answer = fake.answer(request)
                data = json.dumps(answer).encode()
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
        with self.lock:
            self.requests.clear()
            self.decline = False
            self.fail_status = None

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
            "status": "succeeded",
            "refunds": {"object": "list", "data": [], "has_more": False, "url": "/v1/refunds"},
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
        """Refunds (part of) a charge; returns the charge as a `charge.refunded` event has it."""
        with self.lock:
            charge = self.charges[charge_id]
            amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
            refund = {
                "id": _id("re"),
                "object": "refund",
                "amount": amount,
                "currency": charge["currency"],
                "charge": charge_id,
                "status": "succeeded",
            }
            charge["refunds"]["data"].insert(0, refund)
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
                "status": "needs_response",
                "reason": "fraudulent",
            }
            self.disputes[dispute["id"]] = dispute
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
            charge = self.charges.get(match.group(1))
            return (200, json.loads(json.dumps(charge))) if charge else self._missing("charge")
        match = re.fullmatch(r"/v1/disputes/([\w]+)", path)
        if method == "GET" and match:
            dispute = self.disputes.get(match.group(1))
            if dispute is None:
                return self._missing("dispute")
            dispute = json.loads(json.dumps(dispute))
            if "charge" in expand:
                dispute["charge"] = json.loads(json.dumps(self.charges[dispute["charge"]]))
            return 200, dispute
        return 404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}

    def _missing(self, what: str) -> tuple[int, dict[str, Any]]:
        return 404, {
            "error": {"type": "invalid_request_error", "code": "resource_missing", "message": what}
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
