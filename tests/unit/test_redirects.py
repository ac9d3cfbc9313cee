"""Where a sign-in may send the browser afterwards (services/redirects.py): only a path of
this site; anything a browser could read as another site goes to the dashboard."""

from __future__ import annotations

import pytest

from aiusage.services import login_flash, redirects


@pytest.mark.parametrize(
    "value",
    [
        "/dashboard",
        "/dashboard/usage?range=7d",
        "/dashboard/keys?x=%2F%2Fevil.example&y=1#part",
        "/dashboard/usage?model=claude-sonnet-4-5&tz=-120",
        "/a:b",  # a colon in a path is no scheme
    ],
)
def test_paths_of_this_site_are_kept(value):
    assert redirects.safe_next(value) == value
    assert redirects.after_sign_in(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        42,
        ["/dashboard"],
        "dashboard",  # relative
        "https://evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        "//evil.example",
        "//evil.example/dashboard",
        "///evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "\\\\evil.example",
        "/dash\\board",
        "/\t/evil.example",  # browsers drop tabs and newlines: this would be //evil.example
        "/\n/evil.example",
        "/\r/evil.example",
        "/\x00",
        "/\x7f",
        "/ /evil.example",
        "/dashboard\u2028",
        "/dashböard",  # a browser's own URL is percent-encoded
        "/%0A" + "x" * redirects.MAX_CHARS,  # longer than any page of ours
        " /dashboard",
    ],
)
def test_anything_else_goes_to_the_dashboard(value):
    assert redirects.safe_next(value) is None
    assert redirects.after_sign_in(value) == "/dashboard"


def test_the_login_page_remembers_only_what_is_worth_remembering():
    assert redirects.login_path("/dashboard/usage?range=7d") == (
        "/login?next=%2Fdashboard%2Fusage%3Frange%3D7d"
    )
    assert redirects.login_path("/dashboard") == "/login"
    assert redirects.login_path("/dashboard/") == "/login"
    assert redirects.login_path("//evil.example") == "/login"


def test_a_path_survives_a_cookie_and_is_checked_again():
    value = redirects.to_cookie("/dashboard/usage?range=7d&model=a b")
    assert value == ""  # a space is no part of a browser's URL: not kept at all
    value = redirects.to_cookie("/dashboard/usage?range=7d&model=gpt-5")
    assert value and all(c.isalnum() or c in "%-._~" for c in value)
    assert redirects.from_cookie(value) == "/dashboard/usage?range=7d&model=gpt-5"
    assert redirects.to_cookie("//evil.example") == ""
    # A cookie the browser made up is checked like any other value.
    assert redirects.from_cookie("%2F%2Fevil.example") is None
    assert redirects.from_cookie("%2F%5Cevil.example") is None
    assert redirects.from_cookie(None) is None


def test_the_kept_address_is_only_an_address():
    value = login_flash.cookie_value("  Someone+tag@Example.com ")
    assert value and ";" not in value and " " not in value and "@" not in value
    header = f"other=1; {login_flash.COOKIE_NAME}={value}; bai_session=abc"
    assert login_flash.from_cookie_header(header) == "Someone+tag@Example.com"
    assert login_flash.cookie_value("") == ""
    assert login_flash.cookie_value("a@b.c\r\nSet-Cookie: x=y") == ""
    assert login_flash.cookie_value("x" * 300 + "@example.com") == ""
    assert login_flash.from_cookie_header(None) == ""
    assert login_flash.from_cookie_header("bai_session=abc") == ""
