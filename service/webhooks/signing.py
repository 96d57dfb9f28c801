"""Signatures as GitHub makes them: `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, keyed with
the subscription's secret. `verify` is the receiver's side, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Signature-256"
PREFIX = "sha256="


def signature(secret: str, body: bytes) -> str:
    """The header value that signs `body` with `secret`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` with `secret` (what a receiver checks before trusting it)."""
    return header is not None and hmac.compare_digest(signature(secret, body), header)


def new_secret() -> str:
    """A secret for a subscription that did not bring its own: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)
