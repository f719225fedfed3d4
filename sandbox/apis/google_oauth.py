"""Google's OAuth 2.0 token endpoint (refresh-token grant), as Google Ads and GA4 clients use it.

``POST /token`` with a form body (grant_type=refresh_token, client_id, client_secret,
refresh_token) answers ``{access_token, expires_in, scope, token_type}``; a bad refresh
token or client answers HTTP 400/401 ``{"error": "invalid_grant" | "invalid_client",
"error_description"}`` (https://developers.google.com/identity/protocols/oauth2/web-server#offline).
Each sandbox refresh token mints the access token of one product.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from sandbox.server import Request, Response

CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
CLIENT_SECRET = "sandbox-client-secret"
REFRESH_TOKENS = {"sandbox-google-ads-refresh-token": "google_ads", "sandbox-ga4-refresh-token": "ga4"}


def token(request: Request) -> Response:
    form = {k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
    if form.get("grant_type") != "refresh_token":
        return Response(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: " + form.get("grant_type", "")})
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
        return Response(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
    product = REFRESH_TOKENS.get(form.get("refresh_token", ""))
    if product is None:
        return Response(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    return Response(200, {"access_token": request.sandbox.tokens[product], "expires_in": 3599,
                          "scope": "https://www.googleapis.com/auth/adwords" if product == "google_ads"
                          else "https://www.googleapis.com/auth/analytics.readonly", "token_type": "Bearer"})


ROUTES = [("POST", r"/token", token)]
