"""A local HTTP server for tests (127.0.0.1 only): byte strings, Range support, faults."""

from __future__ import annotations

import http.server
import re
import threading



class Server:
    """A threaded HTTP server for byte strings, with switchable Range support and faults.

    ``files``: URL path -> body. ``support_range``: answer ``Range: bytes=N-`` with 206
    (or 416 past the end); otherwise always 200 with the whole body. ``drops``: for the
    next requests, in order, the number of body bytes to send before closing the
    connection (the full Content-Length is still announced). ``requests``: (path, Range
    header or None) of every request.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.support_range = True
        self.drops: list[int] = []
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start, status = 0, 200
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if match and server.support_range:
                    start = int(match.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                payload = body[start:]
                self.send_response(status)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if server.drops:
                    payload = payload[: server.drops.pop(0)]
                    self.close_connection = True
                self.wfile.write(payload)
                self.wfile.flush()

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
