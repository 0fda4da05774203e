"""The shipped nginx configuration (deploy/nginx/extranet.conf.in, rendered by deploy/render.py) in front of gunicorn
(2 workers, ./gunicorn.conf.py) on loopback: TLS, the redirect from http, the portal's static files served by nginx,
the client's address and scheme as the portal sees them (TRUSTED_PROXY_HOPS=1, forged headers ignored), the upload
size, the request id from nginx's log to the portal's, /metrics hidden from the public side and added up over both
workers on gunicorn's side, and the main pages walked through it all after signing in.

Needs Debian's nginx (apt-get install nginx-light): skipped with the reason when absent, failing in CI (CI=true),
where .ci/run installs it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))
import render  # noqa: E402  (deploy/render.py)

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
PASSWORD = "Demo-password-behind-nginx-1!"

pytestmark = pytest.mark.skipif(NGINX is None and os.environ.get("CI") != "true",
                                reason="nginx is not installed (apt-get install nginx-light); CI installs it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{what} is not listening on {port} after {timeout}s")


def _certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and the server's certificate for 127.0.0.1 signed by it: (CA file, certificate, key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def build(subject, issuer, public_key, signing_key, ca: bool):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
        if ca:
            b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
        else:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                False)
        return b.sign(signing_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Extranet test CA")])
    ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, True)
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, key.public_key(),
                 ca_key, False)
    ca_path, cert_path, key_path = folder / "ca.crt", folder / "tls.crt", folder / "tls.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if NGINX is None:
        pytest.fail("nginx is not installed: .ci/run installs nginx-light in CI")
    d = tmp_path_factory.mktemp("behind-nginx")
    web, http_port, https_port = _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(INSTANCE_PATH=str(d / "instance"), SECRET_KEY="behind-nginx-test-key-0123456789abcdef",
               BASE_URL=f"https://127.0.0.1:{https_port}", TRUSTED_PROXY_HOPS="1", MAX_UPLOAD_MB="1",
               DEMO_PASSWORD=PASSWORD, LOG_JSON="true", MAIL_OUTBOX_DIR=str(d / "outbox"))
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    for args in (["db", "upgrade", "heads"], ["demo", "load"]):
        done = subprocess.run(flask + args, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    ca, cert, key = _certificate(d)
    values = render.values_for(None, {})
    values.update(NGINX_UPSTREAM=f"127.0.0.1:{web}", NGINX_HTTP_PORT=str(http_port),
                  NGINX_HTTPS_PORT=str(https_port), NGINX_TLS_CERT=str(cert), NGINX_TLS_KEY=str(key),
                  NGINX_LOG_DIR=str(d), APP_DIR=str(ROOT), BASE_URL=env["BASE_URL"], MAX_UPLOAD_MB="1")
    values.update(render.derived(values))
    site = render.render((ROOT / "deploy" / "nginx" / "extranet.conf.in").read_text(), values)
    (d / "extranet.conf").write_text(site)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / sub).mkdir()
    (d / "nginx.conf").write_text(f"""
{"user root root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 128; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    include {d}/extranet.conf;
}}
""")
    check = subprocess.run([NGINX, "-t", "-p", str(d), "-c", str(d / "nginx.conf")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    logs = open(d / "gunicorn.log", "w")
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{web}",
                                 "app:create_app()"], cwd=ROOT, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(d / "metrics")}, stdout=logs, stderr=subprocess.STDOUT)
    nginx = subprocess.Popen([NGINX, "-p", str(d), "-c", str(d / "nginx.conf"), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(web, gunicorn, "gunicorn")
        _wait_port(https_port, nginx, "nginx")
        yield {"dir": d, "web": web, "http": http_port, "https": https_port, "cert": str(ca),
               "base": f"https://127.0.0.1:{https_port}", "db": d / "instance" / "extranet.sqlite3"}
    finally:
        for proc in (nginx, gunicorn):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        logs.close()


def _session(stack):
    import requests

    s = requests.Session()
    s.verify = stack["cert"]
    s.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy of the environment would take over the test CA
    # A browser sends it; over HTTPS (as the portal sees it through X-Forwarded-Proto) the CSRF check requires it.
    s.headers["Referer"] = f"{stack['base']}/connexion"
    return s


def _sign_in(stack, email):
    s = _session(stack)
    page = s.get(f"{stack['base']}/connexion")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    resp = s.post(f"{stack['base']}/connexion", data={"csrf_token": token, "email": email, "password": PASSWORD},
                  allow_redirects=False)
    assert resp.status_code == 302, resp.text[:500]
    return s


def test_http_redirects_to_https(stack):
    s = _session(stack)
    resp = s.get(f"http://127.0.0.1:{stack['http']}/connexion?x=1", allow_redirects=False)
    assert resp.status_code == 301 and resp.headers["Location"] == f"{stack['base']}/connexion?x=1"


def test_static_files_are_served_by_nginx(stack):
    css = sorted((ROOT / "portal" / "static" / "css").glob("*.css"))[0]
    resp = _session(stack).get(f"{stack['base']}/static/css/{css.name}")
    assert resp.status_code == 200 and resp.content == css.read_bytes()
    assert resp.headers["Cache-Control"] == "max-age=604800, public" and "Expires" in resp.headers
    assert "Content-Security-Policy" not in resp.headers  # the portal sets one on all it answers: nginx answered


def test_the_portal_sees_the_client_scheme_host_and_address_not_forged_ones(stack):
    s = _session(stack)
    # Werkzeug's redirect to the trailing slash is absolute: scheme, host and port as the portal understood them.
    resp = s.get(f"{stack['base']}/s/electoral", allow_redirects=False,
                 headers={"X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"})
    assert resp.status_code in (301, 308)
    assert resp.headers["Location"].startswith(f"{stack['base']}/s/electoral/")
    # A failed sign-in is counted against the client's address, not the one a client claims.
    page = s.get(f"{stack['base']}/connexion")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    s.post(f"{stack['base']}/connexion", headers={"X-Forwarded-For": "203.0.113.9"},
           data={"csrf_token": token, "email": "nobody@example.org", "password": "wrong"})
    conn = sqlite3.connect(stack["db"])
    try:
        ips = {r[0] for r in conn.execute("SELECT ip FROM login_attempt WHERE email = 'nobody@example.org'")}
    finally:
        conn.close()
    assert ips == {"127.0.0.1"}


def test_upload_larger_than_the_limit_is_refused_by_nginx(stack):
    resp = _session(stack).post(f"{stack['base']}/connexion", data=b"x" * (3 * 1024 * 1024),
                                headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 413


def test_request_id_from_nginx_reaches_the_portal(stack):
    resp = _session(stack).get(f"{stack['base']}/healthz")
    rid = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    time.sleep(0.3)
    assert f"rid={rid}" in (stack["dir"] / "extranet-access.log").read_text()


def test_metrics_hidden_outside_added_up_inside(stack):
    import requests

    assert _session(stack).get(f"{stack['base']}/metrics").status_code == 404
    for _ in range(20):  # spread over both workers
        requests.get(f"http://127.0.0.1:{stack['web']}/healthz")
    body = requests.get(f"http://127.0.0.1:{stack['web']}/metrics").text
    line = next(ln for ln in body.splitlines()
                if ln.startswith('extranet_http_requests_total{endpoint="healthz",method="GET",status="200"}'))
    assert float(line.split()[-1]) >= 20
    deep = requests.get(f"http://127.0.0.1:{stack['web']}/healthz/deep").json()
    assert deep["checks"]["database"]["status"] == "ok"


@pytest.mark.parametrize("email", ["admin@cd10.example.org", "maire@ailleville.example.org"])
def test_main_pages_through_nginx(stack, email):
    s = _sign_in(stack, email)
    home = s.get(f"{stack['base']}/")
    assert home.status_code == 200 and home.url.startswith(stack["base"])
    assert "Secure" in next(c for c in home.history[0].raw.headers.getlist("Set-Cookie")) if home.history else True
    links = set(re.findall(r'href="(/(?:s|admin)/[^"#?]*)"', home.text)) | {"/profil", "/api/v1/me"}
    assert len(links) >= 3
    for link in sorted(links):
        resp = s.get(f"{stack['base']}{link}")
        assert resp.status_code == 200, (link, resp.status_code)
        assert resp.headers.get("X-Request-ID")
    me = s.get(f"{stack['base']}/api/v1/me").json()
    assert me["user"]["email"] == email
    logs = (stack["dir"] / "gunicorn.log").read_text().splitlines()
    assert any(line.startswith("{") and json.loads(line).get("logger") for line in logs)
