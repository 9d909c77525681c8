"""The management API's own services: API keys (`keys.py`, model in `models.py`) and who is
calling (`callers.py`). The HTTP endpoints are in idp.web.api; what each endpoint does is a
service of the package that owns the noun (idp.oauth.clients, idp.oauth.resources, ...).
"""
