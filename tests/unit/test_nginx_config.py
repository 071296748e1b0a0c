"""The rendered nginx config passes `nginx -t` and, run for real, serves the app and proxies the API and sockets."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import websockets

from tests.e2e.harness import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "nginx" / "render.py"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")


def _render(prefix: Path, static_root: Path, backends: list[str], listen: str, *extra: str) -> Path:
    conf = prefix / "nginx.conf"
    args = [sys.executable, str(RENDER), "--listen", listen, "--static-root", str(static_root)]
    args += [item for backend in backends for item in ("--backend", backend)]
    args += ["--standalone", str(prefix), "--user", "root", "--out", str(conf), *extra]
    subprocess.run(args, check=True)
    return conf


class _EchoHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{self.path} request_id={self.headers.get('X-Request-ID')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "assets" / "index-abc123.js").write_text("console.log('attune');" * 100)
    return root


@pytest.fixture
def http_backend() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _start_nginx(conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([NGINX, "-p", str(conf.parent), "-c", str(conf)], stderr=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _get(url: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read().decode("latin-1")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("latin-1")


def test_plain_and_tls_configs_pass_nginx_check(tmp_path: Path, site: Path) -> None:
    plain = _render(tmp_path / "plain", site, ["127.0.0.1:9", "127.0.0.1:10"], f"127.0.0.1:{free_port()}")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)  # fmt: skip
    tls = _render(tmp_path / "tls", site, ["127.0.0.1:9"], f"127.0.0.1:{free_port()}",
                  "--tls-listen", f"127.0.0.1:{free_port()}",
                  "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"))  # fmt: skip

    for conf in (plain, tls):
        check = subprocess.run(
            [NGINX, "-t", "-p", str(conf.parent), "-c", str(conf)], check=False, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
    assert "Strict-Transport-Security" in tls.read_text()
    assert "return 301 https://" in tls.read_text()


def test_serves_the_app_and_proxies_api_past_a_dead_replica(tmp_path: Path, site: Path, http_backend: str) -> None:
    port = free_port()
    dead_replica = f"127.0.0.1:{free_port()}"
    conf = _render(tmp_path / "run", site, [dead_replica, http_backend], f"127.0.0.1:{port}")
    nginx = _start_nginx(conf)
    try:
        wait_for_port(port, timeout_s=10)
        base = f"http://127.0.0.1:{port}"

        status, headers, body = _get(f"{base}/journal/2024")
        assert status == 200 and "id=root" in body
        assert headers["Cache-Control"] == "no-cache"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"

        status, headers, _ = _get(f"{base}/assets/index-abc123.js")
        assert status == 200
        assert "immutable" in headers["Cache-Control"]
        assert headers.get("Content-Encoding") == "gzip"
        assert "Content-Security-Policy" in headers

        # Both replicas are tried in turn; the dead one is skipped every time.
        for _ in range(4):
            status, _, body = _get(f"{base}/api/sessions")
            assert status == 200
            assert body.startswith("/api/sessions request_id=") and "None" not in body

        assert _get(f"{base}/metrics")[0] == 404
        assert _get(f"{base}/assets/missing.js")[0] == 404
    finally:
        _stop(nginx)


def test_websocket_upgrade_reaches_the_backend(tmp_path: Path, site: Path) -> None:
    async def scenario() -> str:
        async def echo(socket: websockets.ServerConnection) -> None:
            async for frame in socket:
                await socket.send(f"{socket.request.path} {frame}")

        async with websockets.serve(echo, "127.0.0.1", 0) as server:
            backend_port = server.sockets[0].getsockname()[1]
            port = free_port()
            nginx = _start_nginx(_render(tmp_path / "ws", site, [f"127.0.0.1:{backend_port}"], f"127.0.0.1:{port}"))
            try:
                await asyncio.to_thread(wait_for_port, port, 10)
                async with websockets.connect(f"ws://127.0.0.1:{port}/ws/chat/abc") as client:
                    await client.send("hello")
                    return await asyncio.wait_for(client.recv(), 10)
            finally:
                _stop(nginx)

    assert asyncio.run(scenario()) == "/ws/chat/abc hello"
