"""A webhook receiver for tests/it/api/webhooks.rs that verifies every
delivery with the Standard Webhooks reference implementation (the
`standardwebhooks` package from PyPI), not with offtake's code.

usage: receiver.py DIR [CERT KEY]
  CERT KEY     PEM files: serve HTTPS with this certificate and key
  DIR/secret-P the secret (whsec_...) of the endpoint at path /P, read at each request
  DIR/fail     if present: a number N; the next N verified deliveries to /ok answer 500
  DIR/down     while present, deliveries to /down answer 503
  DIR/delay_ms if present: wait this long before answering (so a server
               killed meanwhile leaves the delivery in flight)
  DIR/log      one JSON line per request: path, webhook-id, verified, status
Prints the port it listens on, then serves until killed.
"""

import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

DIR = sys.argv[1]


def read(name):
    try:
        with open(os.path.join(DIR, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = False
        try:
            Webhook(read("secret" + self.path.replace("/", "-")) or "").verify(body, headers)
            verified = True
        except Exception as e:  # the reference implementation refused it
            sys.stderr.write(f"verify failed: {e}\n")
        status = 204 if verified else 400
        fail = read("fail")
        if verified and self.path == "/ok" and fail and int(fail) > 0:
            with open(os.path.join(DIR, "fail"), "w") as f:
                f.write(str(int(fail) - 1))
            status = 500
        if verified and self.path == "/down" and read("down") is not None:
            status = 503
        delay_ms = read("delay_ms")
        if delay_ms:
            time.sleep(int(delay_ms) / 1000)
        event = json.loads(body) if verified else {}
        line = {"path": self.path, "id": headers.get("webhook-id"), "verified": verified,
                "status": status, "event_id": event.get("id"), "type": event.get("type")}
        with open(os.path.join(DIR, "log"), "a") as f:
            f.write(json.dumps(line) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) == 4:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
