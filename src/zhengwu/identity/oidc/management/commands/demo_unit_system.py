"""zhengwu demo_unit_system --client scj --port 8101 — a small example unit system (an OpenID relying
party) that signs its users in through the platform.

Authlib's OAuth2Session (code + PKCE S256, nonce), the ID token checked against the platform's
JWKS, claims shown on a page; 退出 goes to the platform's end-session endpoint; the back-channel
endpoint (/backchannel-logout) verifies the logout token's signature, iss, aud and events and ends
the local session with that sid. Credentials come from load_demo_oidc_clients' file. Standard
library http.server: for the demo only, not a production server.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from django.core.management.base import BaseCommand, CommandError

from .load_demo_oidc_clients import demo_file

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class DemoRP:
    def __init__(self, issuer: str, entry: dict[str, Any], port: int) -> None:
        self.issuer = issuer.rstrip("/")
        self.entry = entry
        self.base = f"http://127.0.0.1:{port}"
        self.sessions: dict[str, dict[str, Any]] = {}  # local session id -> state / claims
        self.lock = threading.Lock()
        self._meta: dict[str, Any] | None = None

    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()
        return self._meta

    def client(self) -> OAuth2Session:
        return OAuth2Session(self.entry["client_id"], self.entry["secret"], scope="openid profile unit roles",
                             redirect_uri=f"{self.base}/callback", code_challenge_method="S256")

    def decode(self, token: str, **options: Any) -> Any:
        key_set = JsonWebKey.import_key_set(requests.get(self.meta()["jwks_uri"], timeout=10).json())
        claims = jwt.decode(token, key_set, claims_options={
            "iss": {"essential": True, "value": self.issuer}, "aud": {"essential": True, "value": self.entry["client_id"]},
            **options})
        claims.validate(leeway=30)
        return claims

    def end_by_sid(self, sid: str) -> int:
        with self.lock:
            ids = [k for k, v in self.sessions.items() if v.get("claims", {}).get("sid") == sid]
            for k in ids:
                del self.sessions[k]
        return len(ids)


def make_handler(rp: DemoRP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _session(self) -> tuple[str, dict[str, Any]]:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            sid = cookie["demo_rp"].value if "demo_rp" in cookie else ""
            with rp.lock:
                if sid not in rp.sessions:
                    sid = secrets.token_urlsafe(16)
                    rp.sessions[sid] = {}
                return sid, rp.sessions[sid]

        def _send(self, status: int, body: str = "", location: str = "", cookie: str = "") -> None:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            if cookie:
                self.send_header("Set-Cookie", f"demo_rp={cookie}; HttpOnly; SameSite=Lax; Path=/")
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body.encode("utf-8"))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            sid, session = self._session()
            name = html.escape(rp.entry.get("name", "示例系统"))
            if parts.path == "/login":
                verifier, nonce = generate_token(48), generate_token(16)
                url, state = rp.client().create_authorization_url(rp.meta()["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
                session.update({"verifier": verifier, "nonce": nonce, "state": state})
                return self._send(302, location=url, cookie=sid)
            if parts.path == "/callback":
                query = parse_qs(parts.query)
                if query.get("state", [""])[0] != session.get("state"):
                    return self._send(400, "<p>state 不匹配</p>", cookie=sid)
                token = rp.client().fetch_token(rp.meta()["token_endpoint"], authorization_response=f"{rp.base}{self.path}",
                                                code_verifier=session["verifier"])
                claims = rp.decode(token["id_token"], nonce={"essential": True, "value": session["nonce"]})
                session.update({"claims": dict(claims), "id_token": token["id_token"]})
                return self._send(302, location="/", cookie=sid)
            if parts.path == "/logout":
                hint = session.get("id_token", "")
                with rp.lock:
                    rp.sessions.pop(sid, None)
                url = requests.Request("GET", rp.meta()["end_session_endpoint"], params={
                    "id_token_hint": hint, "post_logout_redirect_uri": f"{rp.base}/"}).prepare().url or "/"
                return self._send(302, location=url)
            claims = session.get("claims")
            if claims:
                rows = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(json.dumps(v, ensure_ascii=False))}</code></td></tr>"
                               for k, v in claims.items())
                body = (f"<h1>{name}</h1><p id='signed-in'>已通过统一身份认证登录：{html.escape(str(claims.get('name', '')))}</p>"
                        f"<table>{rows}</table><p><a href='/logout'>退出</a></p>")
            else:
                body = f"<h1>{name}</h1><p id='signed-out'>未登录</p><p><a id='login' href='/login'>通过统一身份认证登录</a></p>"
            return self._send(200, f"<!doctype html><meta charset='utf-8'><title>{name}</title>{body}", cookie=sid)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/backchannel-logout":
                return self._send(404)
            length = min(int(self.headers.get("Content-Length", "0") or 0), 65536)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            try:
                claims = rp.decode(form["logout_token"][0], events={"essential": True}, sid={"essential": True})
                if BACKCHANNEL_EVENT not in claims["events"] or "nonce" in claims:
                    raise ValueError("not a logout token")
            except Exception:
                return self._send(400)
            rp.end_by_sid(claims["sid"])
            return self._send(200)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class Command(BaseCommand):
    help = "运行一个示例业务系统（OpenID 依赖方），演示通过平台单点登录和退出"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--client", required=True, help="load_demo_oidc_clients 登记的系统：scj 或 gaj")
        parser.add_argument("--port", type=int, default=0, help="端口（默认用登记时的端口）")
        parser.add_argument("--issuer", default="http://127.0.0.1:8000", help="平台地址（签发者）")

    def handle(self, *args: Any, **options: Any) -> None:
        path = demo_file()
        if not path.exists():
            raise CommandError("请先运行 zhengwu load_demo_oidc_clients")
        entry = json.loads(path.read_text()).get(options["client"])
        if not entry:
            raise CommandError(f"没有名为 {options['client']} 的示例系统")
        port = options["port"] or entry["port"]
        server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(DemoRP(options["issuer"], entry, port)))
        self.stdout.write(f"{entry['unit']} · {entry['name']}：http://127.0.0.1:{port}/ （Ctrl-C 退出）")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
