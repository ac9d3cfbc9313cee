"""A local OpenID Connect provider on loopback, standing in for Google in tests.

A real HTTP server (a thread) that serves discovery, a JWKS, an authorize endpoint and a
token endpoint. There is no log-in screen: the test says who signs in next
(`provider.next_login(...)`) and the authorize endpoint redirects straight back with a code.
The token endpoint checks the client's credentials, the redirect URI and the PKCE verifier
and returns an RS256 ID token signed with a real RSA key. Switches make the next ID token
wrong in one way: another nonce, expired, signed with another key, another audience."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

KID = "fake-key-1"


@dataclass
class NextLogin:
    """Who the next visit to the authorize endpoint signs in as, and what goes wrong."""

    sub: str
    email: str | None
    name: str = "Test User"
    email_verified: Any = True
    wrong_nonce: bool = False
    expired: bool = False
    wrong_key: bool = False
    wrong_audience: bool = False
    deny: bool = False


@dataclass
class Grant:
    login: NextLogin
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    used: bool = False


@dataclass
class Record:
    authorize: list[dict[str, str]] = field(default_factory=list)
    token: list[dict[str, str]] = field(default_factory=list)


class FakeOIDCProvider:
    def __init__(self, port: int, client_id: str, client_secret: str) -> None:
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig"}, private=True)
        # Same key id, different key: a signature the JWKS cannot verify.
        self.other_key = RSAKey.generate_key(
            2048, parameters={"kid": KID, "use": "sig"}, private=True
        )
        self.record = Record()
        self._next: NextLogin | None = None
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- what the test controls -----

    def next_login(self, sub: str, email: str | None, **switches: Any) -> NextLogin:
        login = NextLogin(sub=sub, email=email, **switches)
        with self._lock:
            self._next = login
        return login

    def reset(self) -> None:
        with self._lock:
            self._next = None
            self._grants.clear()
            self.record = Record()

    # ----- lifecycle -----

    def start(self) -> FakeOIDCProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                provider._get(self)

            def do_POST(self) -> None:
                provider._post(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-oidc", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ----- HTTP -----

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        if url.path == "/.well-known/openid-configuration":
            self._json(handler, 200, self.metadata())
        elif url.path == "/jwks":
            self._json(handler, 200, {"keys": [self.key.as_dict(private=False)]})
        elif url.path == "/authorize":
            self._authorize(handler, {k: v[0] for k, v in parse_qs(url.query).items()})
        else:
            self._json(handler, 404, {"error": "not_found"})

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        if urlsplit(handler.path).path != "/token":
            self._json(handler, 404, {"error": "not_found"})
            return
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        self._token(handler, form)

    def _authorize(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        with self._lock:
            self.record.authorize.append(params)
            login, self._next = self._next, None
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or not redirect_uri:
            self._json(handler, 400, {"error": "invalid_request"})
            return
        if login is None:
            self._json(handler, 400, {"error": "no login queued by the test"})
            return
        state = params.get("state", "")
        if login.deny:
            query = {"error": "access_denied", "state": state}
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._grants[code] = Grant(
                    login,
                    params["client_id"],
                    redirect_uri,
                    params.get("nonce"),
                    params.get("code_challenge"),
                )
            query = {"code": code, "state": state}
        handler.send_response(302)
        handler.send_header("Location", f"{redirect_uri}?{urlencode(query)}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _client_ok(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> bool:
        auth = handler.headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def _token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        with self._lock:
            self.record.token.append(form)
            grant = self._grants.get(form.get("code", ""))
            fresh = grant is not None and not grant.used
            if grant is not None:
                grant.used = True
        if not self._client_ok(handler, form):
            self._json(handler, 401, {"error": "invalid_client"})
            return
        if (
            not fresh
            or grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant.redirect_uri
        ):
            self._json(handler, 400, {"error": "invalid_grant"})
            return
        if grant.code_challenge:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if digest.rstrip(b"=").decode() != grant.code_challenge:
                self._json(handler, 400, {"error": "invalid_grant", "error_description": "pkce"})
                return
        self._json(
            handler,
            200,
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "openid email profile",
                "id_token": self.id_token(grant),
            },
        )

    def id_token(self, grant: Grant) -> str:
        login = grant.login
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": login.sub,
            "aud": "someone-else.apps.example" if login.wrong_audience else grant.client_id,
            "iat": now - 7200 if login.expired else now,
            "exp": now - 3600 if login.expired else now + 3600,
            "nonce": "not-the-nonce-you-sent" if login.wrong_nonce else grant.nonce,
            "name": login.name,
        }
        if login.wrong_audience:
            claims["azp"] = grant.client_id
        if login.email is not None:
            claims["email"] = login.email
            claims["email_verified"] = login.email_verified
        key = self.other_key if login.wrong_key else self.key
        return jwt.encode({"alg": "RS256", "kid": KID}, claims, key)

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Cache-Control", "no-store")
        handler.end_headers()
        handler.wfile.write(body)
