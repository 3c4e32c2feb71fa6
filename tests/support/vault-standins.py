#!/usr/bin/python3
"""Stand-ins for the metadata services and vault APIs the wgmesh-sync script calls, for tests only.

Runs inside a network namespace a test made: plain HTTP on HTTP_ADDR:80 for the metadata services
(AWS and Azure IMDS at 169.254.169.254, GCP's metadata.google.internal), HTTPS on HTTPS_ADDR:443 for
Secrets Manager, Secret Manager and Key Vault, with a certificate from the test's own CA. The script
reaches them through curl's --connect-to (WGMESH_TEST_CURLRC), so every request still names the real
host. Each request is answered as DIR/scenario.json says (read afresh every time) and recorded in
DIR/requests.jsonl. The Secrets Manager stand-in checks the request's SigV4 signature with botocore,
independently of curl, and refuses it as AWS would when it does not verify.

usage: vault-standins.py DIR HTTP_ADDR HTTPS_ADDR
"""
import base64
import json
import re
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

DIR, HTTP_ADDR, HTTPS_ADDR = sys.argv[1], sys.argv[2], sys.argv[3]

IMDS_TOKEN = "AQAEAwgmeshImdsSessionToken=="
AWS_ROLE = "wgmesh-ireland"
AWS_KEY_ID = "ASIAWGMESHTESTKEY001"
AWS_SECRET = "wgmeshTestSecretAccessKey/K7MDENG+bPxRfiCY"
AWS_SESSION = "IQoJb3JpZ2luX2VjEwgmeshTestSessionToken=="
GCP_TOKEN = "ya29.wgmesh-test-access-token"
AZURE_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.wgmesh.test"
LOCK = threading.Lock()


def scenario():
    with open(f"{DIR}/scenario.json") as f:
        return json.load(f)


def aws_credentials(mode):
    key_id = "ASIAUNKNOWNTESTKEY99" if mode == "unknown-key" else AWS_KEY_ID
    secret = "notTheSecretAccessKeyTheRoleHas/000000000" if mode == "wrong-secret" else AWS_SECRET
    return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": key_id, "SecretAccessKey": secret, "Token": AWS_SESSION, "Expiration": "2099-01-01T00:00:00Z"}


AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$")


def check_sigv4(handler, body, region, service):
    """None when the signature verifies with the role's real secret key, else (AWS error type, message)."""
    m = AUTH.match(handler.headers.get("Authorization", ""))
    if not m:
        return {"verified": False}, ("IncompleteSignatureException", "Authorization header is not a SigV4 signature")
    key_id, date, scope_region, scope_service, signed, signature = m.groups()
    facts = {"keyId": key_id, "region": scope_region, "service": scope_service, "signedHeaders": signed.split(";"), "verified": False}
    if key_id != AWS_KEY_ID:
        return facts, ("UnrecognizedClientException", "The security token included in the request is invalid.")
    amz_date = handler.headers.get("X-Amz-Date", "")
    if scope_region != region or scope_service != service or amz_date[:8] != date:
        return facts, ("InvalidSignatureException", "Credential should be scoped to a valid region and service.")
    # botocore signs the headers it is given: exactly the ones the request says it signed.
    headers = {name: handler.headers.get(name, "") for name in signed.split(";")}
    request = AWSRequest(method=handler.command, url=f"https://{handler.headers.get('Host')}{handler.path}", data=body, headers=headers)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(AWS_KEY_ID, AWS_SECRET, AWS_SESSION), service, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if expected != signature:
        return facts, ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
    if handler.headers.get("X-Amz-Security-Token") != AWS_SESSION:
        return facts, ("UnrecognizedClientException", "The security token included in the request is invalid.")
    facts["verified"] = True
    return facts, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, body, extra=None):
        entry = {"method": self.command, "host": self.headers.get("Host"), "path": self.path, "headers": dict(self.headers.items()), "body": body.decode(errors="replace")}
        entry.update(extra or {})
        with LOCK, open(f"{DIR}/requests.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")

    def do_GET(self):
        self.route(b"")

    def do_PUT(self):
        self.route(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def do_POST(self):
        self.route(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def vault_answer(self, case, ok_body):
        """What a vault says for this scenario: hang, a status with an error body, raw bytes, or the secret."""
        mode = case.get("mode", "ok")
        if mode == "hang":
            time.sleep(60)
            return
        if mode == "status":
            self.reply(case["status"], case["body"])
        elif mode == "raw":
            self.reply(200, case["raw"])
        else:
            self.reply(200, ok_body)

    def secret(self, case, name):
        """The value of secret `name`: from the case's `secrets` map when it has one (None: no such secret), else its `secret`."""
        secrets = case.get("secrets")
        if secrets is None:
            return case.get("secret", "")
        return secrets.get(name)

    def route(self, body):
        s = scenario()
        host = (self.headers.get("Host") or "").split(":")[0]
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        extra = {}
        try:
            if host == "169.254.169.254" and url.path.startswith("/latest/"):
                aws = s.get("aws", {})
                if url.path == "/latest/api/token":
                    if self.command != "PUT" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                        return self.reply(400, "IMDSv2 wants PUT with a TTL", "text/plain")
                    return self.reply(200, IMDS_TOKEN, "text/plain")
                if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                    return self.reply(401, "", "text/plain")
                if url.path == "/latest/meta-data/iam/security-credentials/":
                    return self.reply(200, AWS_ROLE + "\n", "text/plain")
                if url.path == f"/latest/meta-data/iam/security-credentials/{AWS_ROLE}":
                    return self.reply(200, aws_credentials(aws.get("credentials", "good")))
                return self.reply(404, "", "text/plain")
            if host == "169.254.169.254" and url.path.startswith("/metadata/"):
                azure = s.get("azure", {})
                if self.headers.get("Metadata") != "true":
                    return self.reply(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
                if url.path == "/metadata/instance/compute/tagsList":
                    return self.reply(200, [{"name": "wg-mesh-node", "value": "lhr"}, {"name": "wg-mesh-vault", "value": azure.get("vault", "wgm-lhr-0a1b2c3d")}])
                if url.path == "/metadata/identity/oauth2/token" and query.get("resource") == ["https://vault.azure.net"]:
                    token = AZURE_TOKEN if azure.get("token", "good") == "good" else "eyJ.expired.token"
                    return self.reply(200, {"access_token": token, "token_type": "Bearer", "resource": "https://vault.azure.net"})
                return self.reply(404, "", "text/plain")
            if host == "metadata.google.internal":
                gcp = s.get("gcp", {})
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self.reply(403, "Missing Metadata-Flavor:Google header", "text/plain")
                if url.path == "/computeMetadata/v1/instance/service-accounts/default/token":
                    token = GCP_TOKEN if gcp.get("token", "good") == "good" else "ya29.revoked"
                    return self.reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
                return self.reply(404, "", "text/plain")
            if host.startswith("secretsmanager.") and host.endswith(".amazonaws.com"):
                region = host.split(".")[1]
                facts, refusal = check_sigv4(self, body, region, "secretsmanager")
                extra["sigv4"] = facts
                if refusal:
                    return self.reply(400, {"__type": refusal[0], "message": refusal[1]}, "application/x-amz-json-1.1")
                if self.headers.get("X-Amz-Target") != "secretsmanager.GetSecretValue":
                    return self.reply(400, {"__type": "UnknownOperationException"}, "application/x-amz-json-1.1")
                case = s.get("aws", {})
                secret_id = json.loads(body or b"{}").get("SecretId")
                value = self.secret(case, secret_id)
                if value is None:
                    return self.reply(400, {"__type": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret."}, "application/x-amz-json-1.1")
                return self.vault_answer(case, {"ARN": f"arn:aws:secretsmanager:{region}:123456789012:secret:{secret_id}-AbCdEf", "Name": secret_id, "SecretString": value})
            if host == "secretmanager.googleapis.com":
                case = s.get("gcp", {})
                if self.headers.get("Authorization") != f"Bearer {GCP_TOKEN}":
                    return self.reply(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials. Expected OAuth 2 access token.", "status": "UNAUTHENTICATED"}})
                m = re.match(r"^/v1/projects/[^/]+/secrets/([^/]+)/versions/latest:access$", url.path)
                value = self.secret(case, m.group(1) if m else "")
                if value is None:
                    return self.reply(404, {"error": {"code": 404, "message": f"Secret [{url.path}] not found or has no versions.", "status": "NOT_FOUND"}})
                return self.vault_answer(case, {"name": url.path, "payload": {"data": base64.b64encode(value.encode()).decode()}})
            if host.endswith(".vault.azure.net"):
                case = s.get("azure", {})
                if self.headers.get("Authorization") != f"Bearer {AZURE_TOKEN}":
                    return self.reply(401, {"error": {"code": "Unauthorized", "message": "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://example.invalid."}})
                value = self.secret(case, url.path.removeprefix("/secrets/"))
                if value is None:
                    return self.reply(404, {"error": {"code": "SecretNotFound", "message": f"A secret with (name/id) {url.path} was not found in this key vault."}})
                return self.vault_answer(case, {"value": value, "id": f"https://{host}{url.path}/0123456789abcdef"})
            return self.reply(404, "", "text/plain")
        finally:
            self.record(body, extra)


def serve(server):
    server.serve_forever()


class Server(ThreadingHTTPServer):
    def server_bind(self):
        # HTTPServer.server_bind looks its own address up in DNS (socket.getfqdn): a packet to the
        # resolver, which the test's fence would count. The name is only used in CGI variables.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


http = Server((HTTP_ADDR, 80), Handler)
https = Server((HTTPS_ADDR, 443), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(f"{DIR}/server.pem", f"{DIR}/server.key")
https.socket = context.wrap_socket(https.socket, server_side=True)
for s in (http, https):
    s.daemon_threads = True
    threading.Thread(target=serve, args=(s,), daemon=True).start()
with open(f"{DIR}/ready", "w") as f:
    f.write("ready\n")
threading.Event().wait()
