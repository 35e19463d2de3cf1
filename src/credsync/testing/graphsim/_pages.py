"""The simulator's few HTML pages: the sign-in form of the authorize endpoint, its error page,
the ``form_post`` reply, and the device code page (``/devicelogin``). Plain forms, no script
(but the form_post reply's auto-submit), so a test can drive them over HTTP or in Chromium.

Field names are Entra's: ``login``, ``passwd`` (sign-in), ``otc`` (the device's user code).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from ._errors import AadError

__all__ = [
    "device_page",
    "done_page",
    "error_page",
    "form_post_page",
    "sign_in_page",
    "signed_in_page",
    "signed_out_page",
]

_STYLE = (
    "body{font-family:Segoe UI,sans-serif;background:#f2f2f2}"
    "main{max-width:440px;margin:60px auto;background:#fff;padding:44px}"
    "label,input,button{display:block;width:100%;margin:6px 0}"
    "#error{color:#e81123}"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{_STYLE}</style></head><body><main><h1>{escape(title)}</h1>"
        f"{body}</main></body></html>"
    )


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )


def _error(error: AadError | None) -> str:
    if error is None:
        return ""
    return f'<p id="error" role="alert">AADSTS{error.number}: {escape(error.text)}</p>'


def sign_in_page(
    action: str,
    hidden: Mapping[str, str],
    app_name: str,
    error: AadError | None = None,
    login: str = "",
) -> str:
    """The form (``login``: the name typed before a refusal, else the request's hint)."""
    login = login or hidden.get("login_hint", "")
    body = (
        f"<p>to continue to {escape(app_name)}</p>{_error(error)}"
        f'<form method="post" action="{escape(action)}">{_hidden(hidden)}'
        f'<label for="login">Email, phone, or Skype</label>'
        f'<input id="login" name="login" type="email" value="{escape(login)}" '
        'autocomplete="username">'
        f'<label for="passwd">Password</label>'
        f'<input id="passwd" name="passwd" type="password" autocomplete="current-password">'
        f'<button id="idSIButton9" type="submit">Sign in</button></form>'
    )
    return _page("Sign in", body)


def error_page(error: AadError) -> str:
    body = (
        f"<p>Sorry, but we're having trouble signing you in.</p>{_error(error)}"
        f"<p>error: {escape(error.error)}</p>"
    )
    return _page("Sign in error", body)


def form_post_page(uri: str, fields: Mapping[str, str]) -> str:
    return (
        "<!doctype html><html><head><title>Working...</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="post" action="{escape(uri)}">{_hidden(fields)}'
        "<noscript><button type=submit>Continue</button></noscript></form></body></html>"
    )


def device_page(
    action: str, user_code: str = "", app_name: str = "", error: AadError | None = None
) -> str:
    """The code form, or (``user_code`` known and good) the sign-in form for it."""
    if not user_code or not app_name:
        body = (
            f"<p>Enter the code displayed on your app or device.</p>{_error(error)}"
            f'<form method="post" action="{escape(action)}">'
            f'<label for="otc">Code</label><input id="otc" name="otc" value="{escape(user_code)}">'
            '<button id="idSIButton9" type="submit">Next</button></form>'
        )
        return _page("Enter code", body)
    body = (
        f"<p>Are you trying to sign in to {escape(app_name)}?</p>{_error(error)}"
        f'<form method="post" action="{escape(action)}">{_hidden({"otc": user_code})}'
        '<label for="login">Email, phone, or Skype</label>'
        '<input id="login" name="login" type="email" autocomplete="username">'
        '<label for="passwd">Password</label>'
        '<input id="passwd" name="passwd" type="password" autocomplete="current-password">'
        '<button id="idSIButton9" name="action" value="continue" type="submit">Continue</button>'
        '<button id="idBtn_Back" name="action" value="decline" type="submit">Cancel</button>'
        "</form>"
    )
    return _page("Sign in", body)


def done_page(app_name: str, declined: bool) -> str:
    if declined:
        text = f"You have declined to sign in to {escape(app_name)} on your device."
    else:
        text = (
            f"You have signed in to the {escape(app_name)} application on your device. You may "
            "now close this window."
        )
    return _page("Done", f'<p id="done">{text}</p>')


def signed_in_page(display_name: str | None, upn: str) -> str:
    """A federated sign-in that belonged to no app's request (``login.srf``, IdP-initiated)."""
    who = escape(f"{display_name} ({upn})" if display_name else upn)
    return _page("Signed in", f'<p id="signed-in" data-upn="{escape(upn)}">Signed in as {who}.</p>')


def signed_out_page() -> str:
    return _page("Signed out", '<p id="signed-out">You signed out of your account.</p>')
