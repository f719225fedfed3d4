"""The one retry policy against each platform's real failure signals, over real HTTP."""

from __future__ import annotations

import json

import pytest

from extractors.errors import ApiError, AuthError, ForbiddenError
from extractors.http import HttpClient, RetryPolicy
from tests.scripted_server import ScriptedServer

TOKEN = "secret-token-abc123"


def client(server, waits: list[float], attempts: int = 4) -> HttpClient:
    policy = RetryPolicy(max_attempts=attempts, base_delay_s=0.01, sleep=waits.append)
    return HttpClient("testsource", server.url, headers={"Authorization": f"Bearer {TOKEN}"}, secrets=[TOKEN], policy=policy)


OK = (200, {}, {"results": [1]})


@pytest.mark.parametrize(
    "name, failure, expected_wait",
    [
        (
            "hubspot secondly 429",
            (
                429,
                {
                    "X-HubSpot-RateLimit-Max": "100",
                    "X-HubSpot-RateLimit-Remaining": "0",
                    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                },
                {
                    "status": "error",
                    "errorType": "RATE_LIMIT",
                    "policyName": "SECONDLY",
                    "correlationId": "x",
                    "message": "You have reached your secondly limit.",
                },
            ),
            10.0,
        ),
        (
            "meta throttling code 17 with usage header",
            (
                400,
                {
                    "X-Business-Use-Case-Usage": json.dumps(
                        {
                            "1001": [
                                {
                                    "type": "ads_insights",
                                    "call_count": 100,
                                    "total_cputime": 40,
                                    "total_time": 60,
                                    "estimated_time_to_regain_access": 2,
                                }
                            ]
                        }
                    )
                },
                {
                    "error": {
                        "message": "User request limit reached",
                        "type": "OAuthException",
                        "code": 17,
                        "error_subcode": 2446079,
                        "fbtrace_id": "A",
                    }
                },
            ),
            120.0,
        ),
        (
            "google RESOURCE_EXHAUSTED with retryDelay",
            (
                429,
                {},
                {
                    "error": {
                        "code": 429,
                        "status": "RESOURCE_EXHAUSTED",
                        "message": "quota",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.ads.googleads.v17.errors.GoogleAdsFailure",
                                "errors": [
                                    {
                                        "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                                        "details": {"quotaErrorDetails": {"retryDelay": "30s"}},
                                    }
                                ],
                            }
                        ],
                    }
                },
            ),
            30.0,
        ),
        (
            "mailchimp 429 with Retry-After",
            (
                429,
                {"Retry-After": "7"},
                {
                    "type": "about:blank",
                    "title": "Too Many Requests",
                    "status": 429,
                    "detail": "too many connections",
                    "instance": "x",
                },
            ),
            7.0,
        ),
    ],
)
def test_platform_throttle_signals_wait_as_told_then_succeed(name, failure, expected_wait):
    waits: list[float] = []
    with ScriptedServer([failure, OK]) as server:
        assert client(server, waits).request("GET", "/x", what="things") == {"results": [1]}
    assert waits == [expected_wait], name


@pytest.mark.parametrize(
    "failure",
    [
        (500, {}, {"message": "boom"}),
        (503, {}, b"<html>busy</html>"),
        (200, {}, b'{"results": [1, 2'),  # truncated body
    ],
)
def test_transient_failures_are_retried_with_backoff(failure):
    waits: list[float] = []
    with ScriptedServer([failure, failure, OK]) as server:
        assert client(server, waits).request("GET", "/x", what="things") == {"results": [1]}
        assert len(server.requests) == 3
    assert len(waits) == 2 and all(0 <= w <= 0.04 for w in waits)


def test_exhausted_retries_name_source_stream_and_request_without_the_secret():
    waits: list[float] = []
    with ScriptedServer([(500, {}, {"message": f"bad {TOKEN}"})] * 3) as server:
        with pytest.raises(ApiError) as err:
            client(server, waits, attempts=3).request(
                "GET", f"/v21.0/act_1/insights?access_token={TOKEN}", what="insights [act_1]"
            )
    message = str(err.value)
    assert message.startswith("testsource insights [act_1]: GET http://127.0.0.1:")
    assert "failed after 3 attempts" in message and "HTTP 500" in message
    assert TOKEN not in message


def test_401_is_an_auth_error_and_not_retried():
    waits: list[float] = []
    with ScriptedServer(
        [
            (
                401,
                {},
                {
                    "status": "error",
                    "message": "The OAuth token used to make this call expired or is invalid.",
                    "category": "INVALID_AUTHENTICATION",
                },
            )
        ]
    ) as server:
        with pytest.raises(AuthError, match="credentials were rejected"):
            client(server, waits).request("GET", "/x", what="contacts")
        assert len(server.requests) == 1
    assert waits == []


def test_meta_invalid_token_code_190_is_an_auth_error():
    with ScriptedServer(
        [(400, {}, {"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}})]
    ) as server:
        with pytest.raises(AuthError):
            client(server, []).request("GET", "/x", what="insights")


def test_403_is_forbidden_and_other_4xx_are_not_retried():
    with ScriptedServer([(403, {}, {"message": "no access"}), (400, {}, {"message": "bad filter"})]) as server:
        c = client(server, [])
        with pytest.raises(ForbiddenError):
            c.request("GET", "/x", what="a")
        with pytest.raises(ApiError, match="rejected \\(HTTP 400: bad filter\\)"):
            c.request("GET", "/x", what="b")
        assert len(server.requests) == 2


def test_hubspot_daily_limit_stops_instead_of_spinning():
    body = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY", "message": "daily limit"}
    with ScriptedServer([(429, {}, body)]) as server:
        with pytest.raises(ApiError, match="rate limited"):
            client(server, []).request("GET", "/x", what="contacts")


def test_a_permanent_refusal_is_raised_at_once_and_marked_not_retryable():
    """GIVEN a 404 (and a 422) WHEN requested THEN one request each, RefusedError, retryable False."""
    from extractors.errors import RefusedError

    waits: list[float] = []
    with ScriptedServer([(404, {}, {"message": "no such list"}), (422, {}, {"title": "Invalid Resource"})]) as server:
        c = client(server, waits)
        for what in ("a", "b"):
            with pytest.raises(RefusedError) as err:
                c.request("GET", "/x", what=what)
            assert err.value.retryable is False and err.value.status in (404, 422)
        assert len(server.requests) == 2
    assert waits == []


def _ads_failure(code: int, status: str, message: str, detail: str) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "details": [
                {
                    "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                    "errors": [{"errorCode": {"queryError": "UNRECOGNIZED_FIELD"}, "message": detail}],
                    "requestId": "r1",
                }
            ],
        }
    }


BATCH = {"results": [{"adGroup": {"id": "1"}}], "fieldMask": "adGroup.id", "requestId": "r1"}


def test_an_error_after_result_batches_in_a_search_stream_is_the_answer_not_a_short_result():
    """GIVEN searchStream answers HTTP 200 with two batches and then an INTERNAL error element
    WHEN requested THEN the client retries (a 5xx) and returns the clean answer it gets next,
    never the two batches; the old client returned them as if they were the whole result."""
    broken = [BATCH, BATCH, {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}]
    waits: list[float] = []
    with ScriptedServer([(200, {}, broken), (200, {}, [BATCH])]) as server:
        assert client(server, waits).request("POST", "/v26/customers/1/googleAds:searchStream", what="ads") == [BATCH]
        assert len(server.requests) == 2
    assert len(waits) == 1


def test_a_refusal_inside_a_search_stream_names_google_s_reason_and_is_not_retried():
    from extractors.errors import RefusedError

    refused = [
        BATCH,
        _ads_failure(
            400,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
            "Error in query: unrecognized field in the query: 'metrics.exits'.",
        ),
    ]
    with ScriptedServer([(200, {}, refused)]) as server:
        with pytest.raises(RefusedError) as err:
            client(server, []).request("POST", "/v26/customers/1/googleAds:searchStream", what="ads")
        assert len(server.requests) == 1
    message = str(err.value)
    assert "an error element after 1 result batches of an HTTP 200 answer" in message and "HTTP 400" in message
    assert "Request contains an invalid argument.: Error in query: unrecognized field in the query: 'metrics.exits'." in message
