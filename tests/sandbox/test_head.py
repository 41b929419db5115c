"""``HEAD`` is answered as Google's front ends answer it: the GET's status and headers, no body.

Raw HTTP (httpx), with a token from the real exchange.
"""

from __future__ import annotations

import google_auth_httplib2
import httpx
import pytest

from fleetsync.sandbox.testing import RunningSandbox

USERS = "admin/directory/v1/users"


def _token(sandbox: RunningSandbox) -> str:
    credentials = sandbox.credentials()
    credentials.refresh(google_auth_httplib2.Request(sandbox.raw_http()))
    return str(credentials.token)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(f"{USERS}/admin@example.org", id="a-google-get"),
        pytest.param(f"{USERS}/nobody@example.org", id="a-google-404"),
        pytest.param("admin/directory/v1/nothing/here", id="no-such-path"),
        pytest.param(f"{USERS}/admin@example.org/makeAdmin", id="a-post-only-method"),
        pytest.param("$discovery/rest?version=directory_v1", id="a-discovery-document"),
        pytest.param("_sandbox/status", id="the-control-surface"),
    ],
)
def test_head_answers_the_get_without_its_body(sandbox: RunningSandbox, path: str) -> None:
    headers = {"Authorization": f"Bearer {_token(sandbox)}"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        got = client.get(path)
        head = client.head(path)
    assert head.status_code == got.status_code != 501
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if "status" not in path:  # the control surface's figures move between the two requests
        assert head.headers["content-length"] == got.headers["content-length"]


def test_head_is_a_call_of_the_get_method(sandbox: RunningSandbox) -> None:
    """It needs the GET's token and scope, and counts as that method."""
    with httpx.Client(base_url=sandbox.url) as client:
        refused = client.head(f"{USERS}/admin@example.org")
        assert refused.status_code == 401
        assert "invalid_token" in refused.headers["www-authenticate"]
        client.headers["Authorization"] = f"Bearer {_token(sandbox)}"
        assert client.head(f"{USERS}/admin@example.org").status_code == 200
    [entry] = sandbox.control.log(method="directory.users.get")[-1:]
    assert entry["status"] == 200
