"""The local test TSA lives in ``fixtures/tsa.py`` (the demo uses it too)."""

from fixtures.tsa import MODES, POLICY, LocalTSA, make_ca, make_tsa_cert

__all__ = ["MODES", "POLICY", "LocalTSA", "make_ca", "make_tsa_cert"]
