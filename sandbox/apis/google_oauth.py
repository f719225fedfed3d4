"""Google's OAuth 2.0 token endpoint (refresh-token grant), as Google Ads and GA4 clients use it.

``POST /token`` with a form body (grant_type=refresh_token, client_id, client_secret,
refresh_token) answers ``{access_token, expires_in, scope, token_type}``; a bad refresh
token or client answers HTTP 400/401 ``{"error": "invalid_grant" | "invalid_client",
"error_description"}`` (https://developers.google.com/identity/protocols/oauth2/web-server#offline).
Each sandbox refresh token mints the access token of one product.

Service accounts: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with ``assertion``, a
JWT signed RS256 by the account's key, claims iss (client_email), scope, aud (this endpoint), iat
and exp at most an hour later (https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
``service_account_key()`` is the sandbox's key file (a fresh RSA key per process); a bad signature,
an expired or over-long assertion or another audience answers 400 invalid_grant. The scope picks
the product: analytics.readonly mints the GA4 token (it also reads the BigQuery export).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.http import Request, Response

CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
CLIENT_SECRET = "sandbox-client-secret"
REFRESH_TOKENS = {"sandbox-google-ads-refresh-token": "google_ads", "sandbox-ga4-refresh-token": "ga4"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SERVICE_ACCOUNT_EMAIL = "funnelhouse-etl@funnelhouse-sandbox.iam.gserviceaccount.com"
SCOPE_PRODUCTS = {
    "https://www.googleapis.com/auth/analytics.readonly": "ga4",
    "https://www.googleapis.com/auth/adwords": "google_ads",
}
_KEY_LOCK = threading.Lock()
_KEY: list[rsa.RSAPrivateKey] = []


def _private_key() -> rsa.RSAPrivateKey:
    with _KEY_LOCK:
        if not _KEY:
            _KEY.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _KEY[0]


def service_account_key(token_uri: str) -> dict:
    """The sandbox service account's JSON key file, as Google issues it (the fields a client uses)."""
    pem = (
        _private_key()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    return {
        "type": "service_account",
        "project_id": "funnelhouse-sandbox",
        "private_key_id": "sandbox-key-1",
        "private_key": pem,
        "client_email": SERVICE_ACCOUNT_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }


def _service_account(request: Request, assertion: str) -> Response:
    invalid = Response(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    try:
        claims = jwt.decode(
            assertion,
            _private_key().public_key(),
            algorithms=["RS256"],
            audience=request.base_url + "/token",
            options={"require": ["iss", "aud", "iat", "exp", "scope"]},
        )
    except jwt.ExpiredSignatureError:
        return Response(
            400,
            {
                "error": "invalid_grant",
                "error_description": "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
            },
        )
    except jwt.PyJWTError:
        return invalid
    if claims["iss"] != SERVICE_ACCOUNT_EMAIL or claims["exp"] - claims["iat"] > 3600 or claims["iat"] > time.time() + 300:
        return invalid
    products = [SCOPE_PRODUCTS[s] for s in str(claims["scope"]).split() if s in SCOPE_PRODUCTS]
    if not products:
        return Response(
            400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope or ID token audience provided."}
        )
    return Response(200, {"access_token": request.sandbox.tokens[products[0]], "expires_in": 3599, "token_type": "Bearer"})


def token(request: Request) -> Response:
    form = {k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
    if form.get("grant_type") == JWT_BEARER:
        return _service_account(request, form.get("assertion", ""))
    if form.get("grant_type") != "refresh_token":
        return Response(
            400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: " + form.get("grant_type", "")}
        )
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
        return Response(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
    product = REFRESH_TOKENS.get(form.get("refresh_token", ""))
    if product is None:
        return Response(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    return Response(
        200,
        {
            "access_token": request.sandbox.tokens[product],
            "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/adwords"
            if product == "google_ads"
            else "https://www.googleapis.com/auth/analytics.readonly https://www.googleapis.com/auth/bigquery.readonly",
            "token_type": "Bearer",
        },
    )


ROUTES = [("POST", r"/token", token)]
