"""The management API (/api) and the API keys that call it.

- `models.py`, `keys.py`: API keys (shown once, stored hashed); `callers.py`: who is calling,
  by API key or client-credentials token.
- `registry.py` declares an endpoint, `views.py` routes and checks it, `problems.py` answers
  errors as RFC 9457 problem details, `schemas.py` holds shared JSON Schemas, `openapi.py`
  describes it all at /api/openapi.json.
- `endpoints/`: one module per noun. What each endpoint does is a service of the package that
  owns the noun (idp.oauth.clients, idp.identity.organizations, idp.admin.moderation, ...).
"""
