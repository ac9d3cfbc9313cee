"""The cookie banner and Google Tag Manager, loaded only after consent.

Everything happens in the browser: the choice is kept in localStorage (never a cookie), the
tag manager is requested only once the visitor has accepted, and never when the browser sends
Do Not Track. Without `AIUSAGE_GTM_ID` there are no analytics, so no banner either: the only
cookie the site ever sets is then the session cookie, which is strictly necessary."""

from __future__ import annotations

import json

import reflex as rx

from aiusage.components.text import tr
from aiusage.config import get_settings

STORAGE_KEY = "aiusage_consent"
GTM_HOST = "www.googletagmanager.com"
BANNER_ID = "consent-banner"

# Runs on every page mount: loads GTM if accepted earlier, else offers the banner.
_CORE = """
(function () {
  var key = %(key)s, id = %(gtm)s, banner = document.getElementById(%(banner)s);
  var dnt = navigator.doNotTrack === "1" || window.doNotTrack === "1";
  var choice = null;
  try { choice = window.localStorage.getItem(key); } catch (e) {}
  function load() {
    if (dnt || window.__aiusageGtmLoaded) return;
    window.__aiusageGtmLoaded = true;
    window.dataLayer = window.dataLayer || [];
    window.dataLayer.push({"gtm.start": new Date().getTime(), event: "gtm.js"});
    var script = document.createElement("script");
    script.async = true;
    script.src = "https://%(host)s/gtm.js?id=" + encodeURIComponent(id);
    document.head.appendChild(script);
  }
  %(action)s
})();
"""

_ON_MOUNT = """
  if (dnt) { if (banner) banner.style.display = "none"; return; }
  if (choice === "granted") { load(); }
  if (banner) banner.style.display = choice ? "none" : "block";
"""

_CHOOSE = """
  try { window.localStorage.setItem(key, %(choice)s); } catch (e) {}
  if (banner) banner.style.display = "none";
  if (%(choice)s === "granted") load();
"""

_RESET = """
  try { window.localStorage.removeItem(key); } catch (e) {}
  if (banner && !dnt) banner.style.display = "block";
"""


def gtm_id() -> str:
    return get_settings().gtm_id.strip()


def _script(action: str) -> str:
    return _CORE % {
        "key": json.dumps(STORAGE_KEY),
        "gtm": json.dumps(gtm_id()),
        "banner": json.dumps(BANNER_ID),
        "host": GTM_HOST,
        "action": action,
    }


def choose_script(choice: str) -> str:
    return _script(_CHOOSE % {"choice": json.dumps(choice)})


def consent_banner() -> rx.Component:
    if not gtm_id():
        return rx.fragment()
    return rx.box(
        rx.hstack(
            rx.text(tr("consent.text"), size="2"),
            rx.link(tr("consent.more"), href="/privacy", size="2"),
            rx.spacer(),
            rx.button(
                tr("consent.decline"),
                variant="soft",
                color_scheme="gray",
                on_click=rx.call_script(choose_script("denied")),
                id="consent-decline",
            ),
            rx.button(
                tr("consent.accept"),
                on_click=rx.call_script(choose_script("granted")),
                id="consent-accept",
            ),
            align="center",
            wrap="wrap",
            spacing="3",
        ),
        id=BANNER_ID,
        role="dialog",
        aria_label="Cookies",
        display="none",
        position="fixed",
        bottom="0",
        left="0",
        right="0",
        padding="1em 1.5em",
        background=rx.color("gray", 2),
        border_top=f"1px solid {rx.color('gray', 6)}",
        z_index="1000",
        on_mount=rx.call_script(_script(_ON_MOUNT)),
    )


def cookie_settings_link() -> rx.Component:
    """Lets a visitor change their answer (shown only when there are analytics at all)."""
    if not gtm_id():
        return rx.fragment()
    return rx.link(
        tr("footer.cookie_settings"),
        href="#",
        on_click=rx.call_script(_script(_RESET)),
        id="cookie-settings",
        size="2",
        color_scheme="gray",
    )
