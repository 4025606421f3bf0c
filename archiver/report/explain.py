"""What each verify check proves, and what it does not: the words of the evidence report."""

from __future__ import annotations

# check id (or prefix) -> (what a PASS proves, what it does not prove)
EXPLAIN: dict[str, tuple[str, str]] = {
    "layout": (
        "The file is a well-formed zip laid out as a WACZ package, with one reading and no "
        "unexpected members.",
        "Anything about the page's content or who made the package.",
    ),
    "files": (
        "Every content file (WARC, index, page list) has exactly the sha256 the signed "
        "manifest and datapackage.json list: not one byte changed since signing.",
        "That the manifest itself is genuine: that is the signature's job (check 5).",
    ),
    "claims": (
        "The package's descriptive claims (title, page URL and date, software) agree with "
        "the signed manifest and page list.",
        "That those claims describe the live page truthfully beyond what was recorded.",
    ),
    "records": (
        "Every WARC record (each request, response, screenshot, text and provenance record) "
        "matches its own digests and the digests the signed manifest lists for it.",
        "That the server sent the same bytes to anyone else, or at any other time.",
    ),
    "index": (
        "Every line of the replay index points at a real record of the WARC.",
        "Anything beyond the index being consistent with the records.",
    ),
    "signature": (
        "The manifest was signed by the private key whose public key is in the package "
        "(fingerprint below), and has not changed since.",
        "Whose key that is: a forger can sign with a key of their own (see check 6).",
    ),
    "key": (
        "The signing key is one you declared trusted (--trust-key or a trusted-keys file).",
        "Anything when no trusted key was given: then trust is NOT established.",
    ),
    "timestamp": (
        "This RFC 3161 token is intact and covers this package's signature: the signed "
        "manifest existed no later than the time the TSA signed.",
        "When the page was captured beyond that upper bound, or that the TSA is one you "
        "trust (see check 7, trusted time).",
    ),
    "tsa-trust": (
        "A token's certificate chain leads to a TSA root you trust, valid at the token's time.",
        "Anything when no trusted TSA root was matched: then the time is the TSA's word only.",
    ),
}


def explain(check_id: str) -> tuple[str, str]:
    """(proves, does not prove) for a check id of the verify report."""
    if check_id in EXPLAIN:
        return EXPLAIN[check_id]
    if check_id.startswith("timestamp"):
        return EXPLAIN["timestamp"]
    return ("What its summary says.", "Anything else.")
