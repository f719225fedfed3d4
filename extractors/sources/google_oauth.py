"""Access tokens for Google APIs (Google Ads, GA4 and its BigQuery export) from a refresh token or
a service account key.

Google access tokens expire within the hour, so an unattended pipeline keeps a long-lived
credential and mints an access token at the start of every run. Connection extra, one of:

- ``client_id``, ``client_secret``, ``refresh_token`` (an OAuth client's offline grant,
  https://developers.google.com/identity/protocols/oauth2/web-server#offline);
- ``service_account_key``: the JSON key file of a service account (as an object or its text: it
  needs ``client_email``, ``private_key`` and ``token_uri``). Each run signs a JWT (RS256, one hour)
  with the key and exchanges it at ``token_uri`` (grant type jwt-bearer,
  https://developers.google.com/identity/protocols/oauth2/service-account#httprest). Optional extra
  ``scopes`` (a list) overrides the source's scopes: GA4 asks for analytics.readonly and
  bigquery.readonly (the export), Google Ads for adwords. The service account must be a user of
  the GA4 property (Viewer) and hold BigQuery Job User / Data Viewer for the export.

``token_uri`` in the extra overrides Google's token endpoint (default
https://oauth2.googleapis.com/token). Without either credential the connection's password is used
as the access token.

A refresh token Google no longer honours (revoked, expired, or minted for another client)
is answered HTTP 400 ``{"error": "invalid_grant", "error_description": "Token has been
expired or revoked."}``: the run stops with one line saying so and what to do (mint a new
refresh token, put it in the connection's extra), never retried.
"""

from __future__ import annotations

import json
import time

import jwt

from extractors.connections import PlatformConnection
from extractors.errors import AuthError, ConfigError
from extractors.http import HttpClient

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPES = {
    "ga4": ("https://www.googleapis.com/auth/analytics.readonly", "https://www.googleapis.com/auth/bigquery.readonly"),
    "google_ads": ("https://www.googleapis.com/auth/adwords",),
}
KEY_EXAMPLE = '{"service_account_key": {"client_email": "...@....iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----...", "token_uri": "https://oauth2.googleapis.com/token"}}'


def google_access_token(source_name: str, conn: PlatformConnection) -> str:
    if conn.extra.get("service_account_key"):
        return _service_account_token(source_name, conn)
    refresh_token = conn.extra.get("refresh_token")
    if not refresh_token:
        return conn.password
    client_id = conn.require_extra("client_id", '{"client_id": "<oauth client id>.apps.googleusercontent.com"}')
    client_secret = conn.require_extra("client_secret", '{"client_secret": "<oauth client secret>"}')
    token_uri = str(conn.extra.get("token_uri") or GOOGLE_TOKEN_URI)
    client = HttpClient(source_name, token_uri, secrets=[str(refresh_token), str(client_secret)], max_concurrency=1)
    what = "access token (OAuth refresh)"
    try:
        body = client.request(
            "POST",
            token_uri,
            what=what,
            form={
                "grant_type": "refresh_token",
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": refresh_token,
            },
        )
    except AuthError as exc:
        answer = exc.body if isinstance(exc.body, dict) else {}
        said = client.redact(f"{answer.get('error')}: {answer.get('error_description', '')}".rstrip(": "))
        if answer.get("error") == "invalid_grant":
            raise AuthError(
                f"{source_name} {what}: Google answered {said}: the refresh token of connection '{conn.conn_id}' "
                "was revoked or has expired; mint a new refresh token (sign in again through the OAuth consent "
                "of the same client) and put it in the connection's extra 'refresh_token'"
            ) from None
        if answer.get("error") in ("invalid_client", "unauthorized_client"):
            raise AuthError(
                f"{source_name} {what}: Google answered {said}: the OAuth client was refused; put the id and "
                f"secret of the client that minted the refresh token in the extras 'client_id' and "
                f"'client_secret' of connection '{conn.conn_id}'"
            ) from None
        raise
    return body["access_token"]


def _service_account_token(source_name: str, conn: PlatformConnection) -> str:
    key = conn.extra["service_account_key"]
    if isinstance(key, str):
        try:
            key = json.loads(key)
        except ValueError:
            raise ConfigError(
                f"connection '{conn.conn_id}' extra 'service_account_key' is not JSON: paste the key file's "
                f"content, e.g. {KEY_EXAMPLE}"
            ) from None
    missing = [k for k in ("client_email", "private_key") if not (isinstance(key, dict) and key.get(k))]
    if missing:
        raise ConfigError(
            f"connection '{conn.conn_id}' extra 'service_account_key' has no {', '.join(missing)}: "
            f"use the service account's JSON key file, e.g. {KEY_EXAMPLE}"
        )
    token_uri = str(conn.extra.get("token_uri") or key.get("token_uri") or GOOGLE_TOKEN_URI)
    scopes = conn.extra.get("scopes") or SCOPES.get(source_name, ())
    now = int(time.time())
    claims = {"iss": key["client_email"], "scope": " ".join(scopes), "aud": token_uri, "iat": now, "exp": now + 3600}
    try:
        assertion = jwt.encode(
            claims,
            key["private_key"],
            algorithm="RS256",
            headers={"kid": key["private_key_id"]} if key.get("private_key_id") else None,
        )
    except (ValueError, TypeError, jwt.PyJWTError):
        raise ConfigError(
            f"connection '{conn.conn_id}' extra 'service_account_key' has a private_key that is not an RSA "
            "key in PEM form: use the key file Google issued"
        ) from None
    client = HttpClient(source_name, token_uri, secrets=[str(key["private_key"]), assertion], max_concurrency=1)
    body = client.request(
        "POST", token_uri, what="access token (service account)", form={"grant_type": JWT_BEARER, "assertion": assertion}
    )
    return body["access_token"]
