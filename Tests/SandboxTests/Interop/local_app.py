"""Serves an ASGI app on a free loopback port in a background thread, for the merchant scripts."""
import socket
import threading
import time

import uvicorn


def serve(app):
    """Starts `app` with uvicorn; returns its base URL and the server (set `should_exit` to stop it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.time() + 300
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server
