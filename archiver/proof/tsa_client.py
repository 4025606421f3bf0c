"""Ask an RFC 3161 TSA for a timestamp token: the proof stage's only network edge.

The answer is checked with the pure ``tokens.check_token`` before it is returned.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from ..errors import TimestampError
from .tokens import check_token

CONTENT_TYPE_QUERY = "application/timestamp-query"
MAX_RESPONSE = 1 << 20  # a TimeStampResp is a few KB; refuse to read more than 1 MiB


def build_query(data: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq over SHA-256(data), with a nonce and certReq; returns (der, nonce)."""
    req = TimestampRequestBuilder(
        data=data, hash_algorithm=HashAlgorithm.SHA256, nonce=True, cert_req=True
    ).build()
    nonce = req.nonce
    if nonce is None:
        raise TimestampError("could not build a timestamp request with a nonce")
    return bytes(req.as_bytes()), nonce


def post_query(tsa_url: str, query: bytes, *, timeout: float) -> bytes:
    """POST a TimeStampReq to ``tsa_url``; return the raw answer. Raises TimestampError."""
    if not tsa_url.startswith(("http://", "https://")):
        raise TimestampError(f"TSA {tsa_url}: not an http(s) URL")
    request = urllib.request.Request(
        tsa_url,
        data=query,
        method="POST",
        headers={"Content-Type": CONTENT_TYPE_QUERY, "Accept": "application/timestamp-reply"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body: bytes = answer.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as err:
        raise TimestampError(f"TSA {tsa_url} answered HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise TimestampError(f"TSA {tsa_url} is unreachable: {err.reason}") from None
    except TimeoutError:
        raise TimestampError(f"TSA {tsa_url} did not answer within {timeout:g} s") from None
    except OSError as err:
        raise TimestampError(f"TSA {tsa_url} is unreachable: {err}") from None
    if len(body) > MAX_RESPONSE:
        raise TimestampError(f"TSA {tsa_url} sent more than 1 MiB: not a timestamp response")
    return body


def request_token(tsa_url: str, data: bytes, *, timeout: float) -> bytes:
    """Ask ``tsa_url`` to timestamp SHA-256(data); return the TimeStampResp DER.

    The answer is checked with ``check_token`` (no roots) before it is returned:
    TimestampError names the TSA and why when it is rejected, for other data,
    for another nonce, not a timestamp response, or signed by an unsuitable cert.
    """
    query, nonce = build_query(data)
    tsr = post_query(tsa_url, query, timeout=timeout)
    result = check_token(tsr, data, roots=(), nonce=nonce)
    if result.problems:
        raise TimestampError(f"TSA {tsa_url}: {result.problems[0]}")
    return tsr
