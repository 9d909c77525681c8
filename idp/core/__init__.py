"""Cross-cutting pieces that know nothing of identity or protocols: store, security, audit."""
