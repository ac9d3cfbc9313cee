"""A Copy button that copies an element's text (or an input's value) in the browser and says
"Copied" for a moment.

The copy happens in the page: what is copied (a new key included) never travels through the
server or enters state, and the button's own label gives the feedback, so every copy button
says the same thing in the same place."""

from __future__ import annotations

import reflex as rx

from aiusage.components.text import tr

_COPY_SCRIPT = """(() => {{
  const source = document.getElementById({source!r});
  const button = document.getElementById({button!r});
  if (!source || !button) return;
  const text = 'value' in source && source.tagName !== 'BUTTON' ? source.value : source.textContent;
  const done = () => {{
    button.setAttribute('data-copied', '');
    clearTimeout(button._copiedTimer);
    button._copiedTimer = setTimeout(() => button.removeAttribute('data-copied'), 1500);
  }};
  const fallback = () => {{
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
    done();
  }};
  if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, fallback);
  else fallback();
}})()"""

# The two labels are both rendered; the attribute the script sets decides which one shows.
_LABEL_STYLE = {
    "&[data-copied] .copy-idle": {"display": "none"},
    "&:not([data-copied]) .copy-done": {"display": "none"},
}


def copy_button(source_id: str, button_id: str, **props) -> rx.Component:
    """Copies the text of the element `source_id`; the button says "Copied" for 1.5 s."""
    return rx.button(
        rx.hstack(rx.icon("copy", size=14), tr("common.copy"), class_name="copy-idle", spacing="1"),
        rx.hstack(
            rx.icon("check", size=14), tr("common.copied"), class_name="copy-done", spacing="1"
        ),
        on_click=rx.call_script(_COPY_SCRIPT.format(source=source_id, button=button_id)),
        id=button_id,
        aria_live="polite",
        style=_LABEL_STYLE,
        **{"size": "1", "variant": "soft", **props},
    )
