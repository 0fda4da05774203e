"""The shipped systemd units and environment file (deploy/): what the production guide promises of them."""
from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(DEPLOY))
import render  # noqa: E402


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / name).read_text().replace("\\\n", " "))
    return parser


def test_the_three_units_read_the_same_environment_file():
    for name in ("extranet-web.service", "extranet-worker.service", "extranet-beat.service"):
        service = unit(name)["Service"]
        assert service["EnvironmentFile"] == "/etc/extranet/extranet.env"
        assert service["WorkingDirectory"] == "/opt/extranet"
        assert service["User"] == "extranet"


def test_beat_keeps_its_schedule_in_its_state_directory():
    service = unit("extranet-beat.service")["Service"]
    args = shlex.split(service["ExecStart"])
    assert args[args.index("--schedule") + 1] == f"/var/lib/{service['StateDirectory']}/celerybeat-schedule"
    assert "one host only" in (DEPLOY / "systemd" / "extranet-beat.service").read_text()


def test_gunicorn_accepts_the_units_command_line(tmp_path):
    """gunicorn --check-config with the unit's options, from the project folder (gunicorn.conf.py read)."""
    service = unit("extranet-web.service")["Service"]
    args = shlex.split(service["ExecStart"])
    assert args[0].endswith("/gunicorn") and args[-1] == "app:create_app()"
    assert Path(service["Environment"].split("=", 1)[1]).parent == Path("/run") / service["RuntimeDirectory"]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", *args[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_worker_warm_shutdown_leaves_time_for_tasks():
    service = unit("extranet-worker.service")["Service"]
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) >= 300


def test_environment_file_renders_the_nginx_site_once_tls_files_are_named(tmp_path):
    values = render.values_for(str(DEPLOY / "extranet.env.example"), {})
    template = (DEPLOY / "nginx" / "extranet.conf.in").read_text()
    with pytest.raises(SystemExit, match="no value for NGINX_TLS_CERT, NGINX_TLS_KEY"):
        render.render(template, values)
    values.update(NGINX_TLS_CERT="/etc/ssl/extranet.pem", NGINX_TLS_KEY="/etc/ssl/extranet.key")
    site = render.render(template, values)
    assert "server_name extranet.example.fr;" in site
    assert "client_max_body_size 221m;" in site  # MAX_UPLOAD_MB=200 + 10 %
    assert "return 301 https://extranet.example.fr$request_uri;" in site
    assert not render.PLACEHOLDER.search(site)
    env = render.read_env_file(str(DEPLOY / "extranet.env.example"))
    assert env["TRUSTED_PROXY_HOPS"] == "1"  # the nginx site sets the headers of exactly one proxy
