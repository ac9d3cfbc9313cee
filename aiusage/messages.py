"""User-facing texts for codes the services and routes return (errors and notices)."""

from __future__ import annotations

ERRORS: dict[str, str] = {
    "email_required": "Enter your email address.",
    "email_invalid": "That does not look like an email address.",
    "email_taken": "An account with this email already exists. Log in instead.",
    "password_required": "Enter a password.",
    "password_too_short": "Use at least 8 characters for your password.",
    "password_too_long": "Use at most 256 characters for your password.",
    "invalid_credentials": "Wrong email or password.",
    "email_not_verified": "Confirm your email address first: we sent you a link.",
    "rate_limited": "Too many attempts. Wait a few minutes and try again.",
    "token_invalid": "This link is invalid or has expired. Ask for a new one.",
    "wrong_password": "Your current password is not right.",
    "csrf": "This form was not sent from this site. Reload the page and try again.",
    "too_large": "The form is too large.",
    "bad_request": "The request could not be read.",
    "signed_out": "Sign in again.",
}

NOTICES: dict[str, str] = {
    "check_email": "Check your inbox: we sent you a link to confirm your email address.",
    "verified": "Your email address is confirmed. You can log in now.",
    "signed_out": "You are signed out.",
    "reset_sent": "If an account exists for that address, we sent it a link to reset the password.",
    "password_reset": "Your password is changed. Log in with the new one.",
    "password_changed": "Your password is changed. Your other sessions were signed out.",
}


def error_text(code: str) -> str:
    return ERRORS.get(code, "Something went wrong. Try again.") if code else ""


def notice_text(code: str) -> str:
    return NOTICES.get(code, "") if code else ""
