"""Tables of the OpenID Connect provider (client registrations, SSO sessions)."""
