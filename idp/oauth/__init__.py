"""The OAuth 2.1 / OpenID Connect provider, on Authlib.

Models with hashed secrets, the client store, grants, token minting, claims per scope,
consent, discovery. It calls identity services; identity never imports it.
"""
