"""User authentication: local verification of Supabase access tokens."""

from server.auth.tokens import TokenVerifier, UserClaims, sign_dev_token

__all__ = ["TokenVerifier", "UserClaims", "sign_dev_token"]
