"""Proving the cluster secret to Mooncake's HTTP endpoints from Python (docs/SECURITY.md).

With MC_AUTH_SECRET (or MC_AUTH_SECRET_FILE) set, the HTTP metadata server and the master's
admin endpoints answer an unauthenticated request with 401 and a challenge
("WWW-Authenticate: Mooncake <hex>"). `urlopen` answers it the way the C++ clients do and
sends the request again; `load_secret` reads the secret from the environment.

    from mooncake import auth
    keys = auth.urlopen("http://master:9003/get_all_keys").read()
"""
import hashlib
import hmac
import os
import secrets
import struct
import urllib.error
import urllib.request

MIN_SECRET_BYTES = 16
SCHEME = "Mooncake"


def load_secret():
    """The cluster secret as bytes (MC_AUTH_SECRET_FILE, else MC_AUTH_SECRET), or None."""
    path = os.environ.get("MC_AUTH_SECRET_FILE")
    if path:
        with open(path, "rb") as f:
            secret, origin = f.read().strip(), f"the auth secret file {path}"
    elif os.environ.get("MC_AUTH_SECRET"):
        secret, origin = os.environ["MC_AUTH_SECRET"].encode().strip(), "MC_AUTH_SECRET"
    else:
        return None
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"{origin} holds a secret of {len(secret)} bytes; use at least "
                         f"{MIN_SECRET_BYTES} (e.g. the output of `openssl rand -hex 32`)")
    return secret


def _mac(secret, *parts):
    message = b"".join(struct.pack("<I", len(p)) + p for p in parts)
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def answer_challenge(www_authenticate, secret=None, label="http"):
    """The Authorization value answering a 401's "WWW-Authenticate: Mooncake <hex>"."""
    secret = secret if secret is not None else load_secret()
    if secret is None:
        raise PermissionError("the server requires authentication: set MC_AUTH_SECRET")
    scheme, _, challenge = (www_authenticate or "").partition(" ")
    if scheme != SCHEME or not challenge:
        raise PermissionError(f"not a Mooncake challenge: {www_authenticate!r}")
    server_nonce = bytes.fromhex(challenge.strip())
    client_nonce = secrets.token_bytes(16)
    proof = _mac(secret, b"mooncake-session-v1", label.encode(), server_nonce, client_nonce)
    return f"{SCHEME} {challenge.strip()}.{client_nonce.hex()}.{proof}"


def urlopen(request, timeout=30, secret=None):
    """urllib.request.urlopen that answers one Mooncake challenge (when a secret is known)."""
    if isinstance(request, str):
        request = urllib.request.Request(request)
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as refused:
        if refused.code != 401:
            raise
        secret = secret if secret is not None else load_secret()
        if secret is None:
            raise
        request.add_header("Authorization",
                           answer_challenge(refused.headers.get("WWW-Authenticate"), secret))
        return urllib.request.urlopen(request, timeout=timeout)
