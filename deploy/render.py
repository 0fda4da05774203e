#!/usr/bin/env python3
"""Render a template of deploy/ (``${NAME}`` placeholders) with the values of an environment file.

    python3 deploy/render.py deploy/nginx/extranet.conf.in /etc/extranet/extranet.env > /etc/nginx/sites-available/extranet

Values come from the environment file (``NAME=value`` lines), then the process environment, then the defaults
below; a placeholder left without a value is an error (nothing half-rendered). Python's standard library only.
"""
from __future__ import annotations

import os
import re
import sys

DEFAULTS = {
    "NGINX_UPSTREAM": "127.0.0.1:8000",
    "NGINX_HTTP_PORT": "80",
    "NGINX_HTTPS_PORT": "443",
    "NGINX_LOG_DIR": "/var/log/nginx",
    "APP_DIR": "/opt/extranet",
}
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def read_env_file(path: str) -> dict[str, str]:
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip("'\"")
    return values


def derived(values: dict[str, str]) -> dict[str, str]:
    """Values computed from others: the host of BASE_URL, the body size from MAX_UPLOAD_MB (+ 10 % for the form)."""
    out = {}
    base = values.get("BASE_URL", "")
    if base and "NGINX_SERVER_NAME" not in values:
        out["NGINX_SERVER_NAME"] = re.sub(r"^https?://", "", base).split("/")[0].split(":")[0]
    if "NGINX_BODY_MB" not in values:
        out["NGINX_BODY_MB"] = str(int(int(values.get("MAX_UPLOAD_MB", "200")) * 1.1) + 1)
    return out


def render(template: str, values: dict[str, str]) -> str:
    missing = sorted({m for m in PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise SystemExit(f"render.py: no value for {', '.join(missing)} (set them in the environment file)")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def values_for(env_file: str | None, environ=os.environ) -> dict[str, str]:
    values = dict(DEFAULTS)
    values.update({k: v for k, v in environ.items() if PLACEHOLDER.fullmatch("${" + k + "}")})
    if env_file:
        values.update(read_env_file(env_file))
    values.update(derived(values))
    return values


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        template = f.read()
    sys.stdout.write(render(template, values_for(argv[2] if len(argv) == 3 else None)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
