#!/usr/bin/python3
"""A tiny MTurk-like JSON 1.1 endpoint for tests/e2e/t0300-mturk-cli.sh.

It listens on 127.0.0.1 (port chosen by the kernel, written to PORTFILE),
checks each request's SigV4 signature on its own (hashlib/hmac, not the C
signer under test), logs "target body" lines to LOGFILE, and answers:

  GetAccountBalance            200 {"AvailableBalance": "10000.00", ...}
  GetHIT {"HITId":"MISSING"}   400 RequestError / HITDoesNotExist
  DeleteHIT                    500 ServiceFault (always)
  anything else                200 {"Echo": <the request body>}
  a bad signature              403 InvalidSignatureException

usage: fake_mturk.py PORTFILE LOGFILE SECRET
"""
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

PREFIX = "MTurkRequesterServiceV20170117."


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def expected_signature(secret, method, path, headers, signed, body, scope):
    canon_headers = "".join(
        "%s:%s\n" % (h, " ".join(headers.get(h, "").split())) for h in signed)
    creq = "\n".join([method, path, "", canon_headers, ";".join(signed),
                      hashlib.sha256(body).hexdigest()])
    date, region, service, _ = scope.split("/")
    sts = "\n".join(["AWS4-HMAC-SHA256", headers.get("x-amz-date", ""),
                     scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = sign(("AWS4" + secret).encode(), date)
    k = sign(k, region)
    k = sign(k, service)
    k = sign(k, "aws4_request")
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "fake-request-1")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        target = headers.get("x-amz-target", "")
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (target, body.decode()))
        auth = headers.get("authorization", "")
        ok = False
        try:
            fields = dict(p.strip().split("=", 1)
                          for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
            scope = fields["Credential"].split("/", 1)[1]
            signed = fields["SignedHeaders"].split(";")
            want = expected_signature(SECRET, "POST", self.path, headers,
                                      signed, body, scope)
            ok = (auth.startswith("AWS4-HMAC-SHA256 ")
                  and scope.endswith("/us-east-1/mturk-requester/aws4_request")
                  and "x-amz-target" in signed and "host" in signed
                  and hmac.compare_digest(want, fields["Signature"]))
        except (KeyError, ValueError, IndexError):
            ok = False
        if not ok:
            return self.reply(403, {
                "__type": "InvalidSignatureException",
                "message": "The request signature we calculated does not "
                           "match the signature you provided."})
        op = target[len(PREFIX):] if target.startswith(PREFIX) else ""
        req = json.loads(body or b"{}")
        if op == "GetAccountBalance":
            return self.reply(200, {"AvailableBalance": "10000.00",
                                    "OnHoldBalance": "0.00"})
        if op == "GetHIT" and req.get("HITId") == "MISSING":
            return self.reply(400, {
                "__type": "RequestError",
                "Message": "Hit MISSING does not exist. (1624047673969)",
                "TurkErrorCode": "AWS.MechanicalTurk.HITDoesNotExist"})
        if op == "DeleteHIT":
            return self.reply(500, {"__type": "ServiceFault",
                                    "Message": "try again"})
        return self.reply(200, {"Echo": req})


if __name__ == "__main__":
    PORTFILE, LOG, SECRET = sys.argv[1], sys.argv[2], sys.argv[3]
    srv = HTTPServer(("127.0.0.1", 0), Handler)
    with open(PORTFILE + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(PORTFILE + ".tmp", PORTFILE)
    srv.serve_forever()
