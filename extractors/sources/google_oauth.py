"""Access tokens for Google APIs (Google Ads, GA4) from a refresh token.

Google access tokens expire within the hour, so an unattended pipeline keeps a
refresh token and mints an access token at the start of every run
(https://developers.google.com/identity/protocols/oauth2/web-server#offline).
Connection extra: ``client_id``, ``client_secret``, ``refresh_token`` and
optionally ``token_uri`` (default https://oauth2.googleapis.com/token). Without
a refresh token the connection's password is used as the access token.
"""

from __future__ import annotations

from extractors.connections import PlatformConnection
from extractors.http import HttpClient

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def google_access_token(source_name: str, conn: PlatformConnection) -> str:
    refresh_token = conn.extra.get("refresh_token")
    if not refresh_token:
        return conn.password
    client_id = conn.require_extra("client_id", '{"client_id": "<oauth client id>.apps.googleusercontent.com"}')
    client_secret = conn.require_extra("client_secret", '{"client_secret": "<oauth client secret>"}')
    token_uri = str(conn.extra.get("token_uri") or GOOGLE_TOKEN_URI)
    client = HttpClient(source_name, token_uri, secrets=[str(refresh_token), str(client_secret)], max_concurrency=1)
    body = client.request("POST", token_uri, what="access token (OAuth refresh)", form={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token})
    return body["access_token"]
