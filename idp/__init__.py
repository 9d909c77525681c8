"""A self-hosted OAuth 2.1 / OpenID Connect identity provider."""
