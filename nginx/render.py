"""Render nginx/attune.conf.template for a set of backend replicas.

    python nginx/render.py --backend 10.0.0.5:8001 --backend 10.0.0.6:8001 \
        --listen 80 --static-root /srv/attune/frontend --out /etc/nginx/conf.d/attune.conf

``--tls-cert``/``--tls-key`` add an HTTPS server (HTTP/2, HSTS) and turn the plain listener
into a redirect. ``--standalone PREFIX`` wraps the result in a whole nginx.conf whose pid,
temp and log files live under PREFIX, so an unprivileged nginx can run it in the foreground:

    nginx -p PREFIX -c PREFIX/nginx.conf          # -t to only check it

Standard library only: it runs in the frontend image's build stage and in tests.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).with_name("attune.conf.template")
_PLACEHOLDER = re.compile(r"\{\{ (\w+) \}\}")
_INDENT = "    "


@dataclass(frozen=True)
class ProxyConfig:
    backends: list[str]  # host:port of each backend replica
    listen: str = "80"  # port, or address:port (127.0.0.1:8080 keeps it on loopback)
    static_root: Path = Path("/usr/share/nginx/html")
    server_name: str = "_"
    client_max_body_size: str = "1m"
    max_fails: int = 3
    fail_timeout_s: int = 10
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_listen: str = "443"
    access_log: str = "/var/log/nginx/access.log"

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


def _content_security_policy(tls: bool) -> str:
    # style-src allows inline styles: React components (charts) set style attributes.
    # connect-src names the socket origin explicitly: older Safari does not let 'self' cover ws(s).
    sockets = "wss://$host" if tls else "ws://$host wss://$host"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' {sockets}; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def _security_headers(config: ProxyConfig, indent: str) -> str:
    headers = {
        "Content-Security-Policy": _content_security_policy(config.tls),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if config.tls:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return "\n".join(f'{indent}add_header {name} "{value}" always;' for name, value in headers.items())


def _upstream_servers(config: ProxyConfig) -> str:
    params = f"max_fails={config.max_fails} fail_timeout={config.fail_timeout_s}s"
    return "\n".join(f"{_INDENT}server {backend} {params};" for backend in config.backends)


def _listen(config: ProxyConfig) -> str:
    if not config.tls:
        return f"{_INDENT}listen {config.listen};"
    return "\n".join(
        [
            f"{_INDENT}listen {config.tls_listen} ssl http2;",
            f"{_INDENT}ssl_certificate {config.tls_cert};",
            f"{_INDENT}ssl_certificate_key {config.tls_key};",
            f"{_INDENT}ssl_protocols TLSv1.2 TLSv1.3;",
            f"{_INDENT}ssl_prefer_server_ciphers off;",
            f"{_INDENT}ssl_session_cache shared:attune_tls:10m;",
            f"{_INDENT}ssl_session_timeout 1d;",
        ]
    )


def _redirect_server(config: ProxyConfig) -> str:
    if not config.tls:
        return ""
    https_port = config.tls_listen.rsplit(":", 1)[-1]
    target = "https://$host$request_uri" if https_port == "443" else f"https://$host:{https_port}$request_uri"
    return (
        "server {\n"
        f"{_INDENT}listen {config.listen};\n"
        f"{_INDENT}server_name {config.server_name};\n"
        f"{_INDENT}server_tokens off;\n"
        f"{_INDENT}return 301 {target};\n"
        "}\n"
    )


def render(config: ProxyConfig, template: str | None = None) -> str:
    """The server-level config (goes inside ``http {}``) for ``config``."""
    if not config.backends:
        raise ValueError("at least one backend replica is needed")
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ValueError("TLS needs both a certificate and a key")
    values = {
        "upstream_servers": _upstream_servers(config),
        "redirect_server": _redirect_server(config),
        "listen": _listen(config),
        "server_name": config.server_name,
        "access_log": config.access_log,
        "static_root": str(config.static_root),
        "client_max_body_size": config.client_max_body_size,
        "security_headers": _security_headers(config, _INDENT),
        "security_headers_nested": _security_headers(config, _INDENT * 2),
    }
    text = template if template is not None else TEMPLATE.read_text()

    def substitute(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(substitute, text)


def standalone(server_config: str, prefix: Path, mime_types: Path, user: str | None = None) -> str:
    """A whole nginx.conf around ``server_config``: foreground, every writable path under ``prefix``."""
    temp = prefix / "tmp"
    lines = [
        "daemon off;",
        "worker_processes 1;",
        f"pid {prefix / 'nginx.pid'};",
        f"error_log {prefix / 'error.log'} info;",
        *([f"user {user};"] if user else []),
        "events { worker_connections 1024; }",
        "http {",
        f"{_INDENT}include {mime_types};",
        f"{_INDENT}default_type application/octet-stream;",
        f"{_INDENT}sendfile on;",
        *(f"{_INDENT}{kind}_temp_path {temp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        server_config,
        "}",
    ]
    return "\n".join(lines) + "\n"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", action="append", required=True, help="host:port of a backend replica (repeat)")
    parser.add_argument("--listen", default="80", help="port or address:port for HTTP (default 80)")
    parser.add_argument("--static-root", type=Path, default=Path("/usr/share/nginx/html"), help="the built frontend")
    parser.add_argument("--server-name", default="_", help="server_name (default: any)")
    parser.add_argument("--client-max-body-size", default="1m")
    parser.add_argument("--tls-cert", type=Path, help="certificate chain (PEM): adds the HTTPS server")
    parser.add_argument("--tls-key", type=Path, help="private key (PEM)")
    parser.add_argument("--tls-listen", default="443", help="port or address:port for HTTPS (default 443)")
    parser.add_argument("--standalone", type=Path, metavar="PREFIX", help="write a whole nginx.conf using PREFIX")
    parser.add_argument("--mime-types", type=Path, default=Path("/etc/nginx/mime.types"))
    parser.add_argument("--user", help="worker user in --standalone mode when nginx starts as root")
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    prefix = args.standalone.resolve() if args.standalone else None
    config = ProxyConfig(
        backends=args.backend,
        listen=args.listen,
        static_root=args.static_root.resolve() if args.standalone else args.static_root,
        server_name=args.server_name,
        client_max_body_size=args.client_max_body_size,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_listen=args.tls_listen,
        access_log=str(prefix / "access.log") if prefix else "/var/log/nginx/access.log",
    )
    text = render(config)
    if prefix:
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
        text = standalone(text, prefix, args.mime_types, args.user)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
