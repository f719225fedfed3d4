"""Access tokens for Google APIs (Google Ads, GA4) from a refresh token.

Google access tokens expire within the hour, so an unattended pipeline keeps a
refresh token and mints an access token at the start of every run
(https://developers.google.com/identity/protocols/oauth2/web-server#offline).
Connection extra: ``client_id``, ``client_secret``, ``refresh_token`` and
optionally ``token_uri`` (default https://oauth2.googleapis.com/token). Without
a refresh token the connection's password is used as the access token.

A refresh token Google no longer honours (revoked, expired, or minted for another client)
is answered HTTP 400 ``{"error": "invalid_grant", "error_description": "Token has been
expired or revoked."}``: the run stops with one line saying so and what to do (mint a new
refresh token, put it in the connection's extra), never retried.
"""

from __future__ import annotations

from extractors.connections import PlatformConnection
from extractors.errors import AuthError
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
    what = "access token (OAuth refresh)"
    try:
        body = client.request("POST", token_uri, what=what, form={
            "grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token})
    except AuthError as exc:
        answer = exc.body if isinstance(exc.body, dict) else {}
        said = client.redact(f"{answer.get('error')}: {answer.get('error_description', '')}".rstrip(": "))
        if answer.get("error") == "invalid_grant":
            raise AuthError(f"{source_name} {what}: Google answered {said}: the refresh token of connection '{conn.conn_id}' "
                            "was revoked or has expired; mint a new refresh token (sign in again through the OAuth consent "
                            "of the same client) and put it in the connection's extra 'refresh_token'") from None
        if answer.get("error") in ("invalid_client", "unauthorized_client"):
            raise AuthError(f"{source_name} {what}: Google answered {said}: the OAuth client was refused; put the id and "
                            f"secret of the client that minted the refresh token in the extras 'client_id' and "
                            f"'client_secret' of connection '{conn.conn_id}'") from None
        raise
    return body["access_token"]
