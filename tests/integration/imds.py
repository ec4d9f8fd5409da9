#!/usr/bin/env python3
"""A local stand-in for the EC2 instance metadata service, IMDSv2 only, for
tests/integration/store_tls.sh. The real IMDS (169.254.169.254) cannot run
off EC2; this speaks its protocol faithfully so the client side is tested
for real:

  PUT /latest/api/token           needs X-aws-ec2-metadata-token-ttl-seconds
                                  (1..21600, else 400); returns a token
  GET /latest/api/token           405 (tokens are only PUT)
  GET /latest/meta-data/...       needs X-aws-ec2-metadata-token: a token
                                  issued here and not expired, else 401
  GET .../iam/security-credentials/        the role name
  GET .../iam/security-credentials/ROLE    {"Code":"Success", "Type":
                                  "AWS-HMAC", AccessKeyId, SecretAccessKey,
                                  Token, Expiration, LastUpdated}
  any request with X-Forwarded-For: 403 (IMDS refuses proxied requests)

Usage: imds.py --creds FILE [--role NAME] [--log FILE]; FILE holds the JSON
of AccessKeyId, SecretAccessKey, Token (may be absent), Expiration. Prints
"listening PORT" when ready; appends one line per request to --log
("METHOD PATH STATUS"). Standard library only.
"""
import argparse
import json
import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--creds", required=True)
ap.add_argument("--role", default="pqfeed-test-role")
ap.add_argument("--log")
opt = ap.parse_args()

tokens = {}  # token -> expiry (monotonic seconds)
CRED_PATH = "/latest/meta-data/iam/security-credentials/"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if opt.log:
            with open(opt.log, "a") as f:
                f.write(f"{self.command} {self.path} {status}\n")

    def refuse_proxied(self):
        if self.headers.get("X-Forwarded-For"):
            self.reply(403, "Forbidden")
            return True
        return False

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.refuse_proxied():
            return
        if self.path != "/latest/api/token":
            return self.reply(404, "Not Found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400, "Bad Request")
        tok = secrets.token_urlsafe(40)
        tokens[tok] = time.monotonic() + int(ttl)
        self.send_response(200)
        body = tok.encode()
        self.send_header("X-aws-ec2-metadata-token-ttl-seconds", ttl)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if opt.log:
            with open(opt.log, "a") as f:
                f.write(f"PUT {self.path} 200\n")

    def do_GET(self):
        if self.refuse_proxied():
            return
        if self.path == "/latest/api/token":
            return self.reply(405, "Method Not Allowed")
        tok = self.headers.get("X-aws-ec2-metadata-token")
        if not tok or tokens.get(tok, 0) < time.monotonic():
            return self.reply(401, "Unauthorized")
        if self.path == CRED_PATH:
            return self.reply(200, opt.role)
        if self.path == CRED_PATH + opt.role:
            with open(opt.creds) as f:
                c = json.load(f)
            doc = {"Code": "Success", "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "Type": "AWS-HMAC"}
            doc.update(c)
            return self.reply(200, json.dumps(doc, indent=2), "application/json")
        return self.reply(404, "Not Found")

    do_HEAD = do_GET


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("listening", srv.server_address[1], flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
