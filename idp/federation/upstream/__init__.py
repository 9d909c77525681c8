"""Upstream OIDC / OAuth 2 providers the operator configures for everyone ("Continue with ...").

- `transport.py`: HTTP to an upstream under the SSRF rules of client metadata documents;
- `oidc.py`: the generic OpenID Connect relying party (discovery, PKCE, ID token checks),
  storage-free, reused by enterprise SSO;
- `github.py`: GitHub, an OAuth 2 provider without OpenID Connect;
- `presets.py`: the registry of provider kinds (Google, Microsoft, GitLab, GitHub, generic);
- `models.py`, `providers.py`: the configured providers, their sealed secrets, their changes;
- `flow.py`: a sign-in in progress (state, nonce, verifier kept in the store, used once).
"""
