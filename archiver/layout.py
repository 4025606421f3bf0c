"""The members of a capture package (WACZ 1.1.1 plus the ``provenance/`` folder).

One place for every member name and for the rule that names timestamp tokens, so
the writer (``capture``, ``proof``), the checker (``verify``) and the index
(``archive``) cannot disagree about what a package holds.

Who covers whom, with no circle: ``manifest.json`` lists the content files and every
WARC record; the signature covers ``manifest.json``; each token covers the signature;
``datapackage.json`` lists every member but itself and its digest.
"""

from __future__ import annotations

import re

WARC = "archive/data.warc.gz"
CDXJ = "indexes/index.cdxj"
PAGES = "pages/pages.jsonl"
MANIFEST = "provenance/manifest.json"
SIGNATURE = MANIFEST + ".sig"
SIGNER = "provenance/signer.pub.pem"
DATAPACKAGE = "datapackage.json"
DATAPACKAGE_DIGEST = "datapackage-digest.json"

CONTENT = (WARC, CDXJ, PAGES)  # what the manifest's "files" list covers
SIGNED = (MANIFEST, SIGNATURE, SIGNER)  # the provenance members every sealed package has

# provenance/manifest.json.sig.<n>.tsr: n is a decimal number without leading zeros
# (0, 1, ... 999999), so each token has exactly one name.
MAX_TOKENS = 1_000_000
TOKEN = re.compile(r"provenance/manifest\.json\.sig\.(0|[1-9][0-9]{0,5})\.tsr")


def token_path(n: int) -> str:
    """Zip path of the ``n``-th timestamp token."""
    if not 0 <= n < MAX_TOKENS:
        raise ValueError(f"token number {n} out of range")
    return f"{SIGNATURE}.{n}.tsr"


def token_number(name: str) -> int | None:
    """The ``n`` of a token member name, or None when ``name`` is not a token name."""
    match = TOKEN.fullmatch(name)
    return int(match.group(1)) if match else None


def is_token(name: str) -> bool:
    """Is ``name`` a timestamp token member (by the one naming rule)?"""
    return token_number(name) is not None
