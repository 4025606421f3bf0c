"""The local test TSA lives in ``fixtures/tsa.py``: tests import it from there.

Kept only for bench/verify.py, which puts tests/ on sys.path and imports ``tsa``; delete
this file once that import reads ``from fixtures.tsa import LocalTSA``.
"""

from fixtures.tsa import MODES, POLICY, LocalTSA, make_ca, make_tsa_cert

__all__ = ["MODES", "POLICY", "LocalTSA", "make_ca", "make_tsa_cert"]
