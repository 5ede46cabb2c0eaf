"""The one theme: a calm sky/cloud palette, defined here and nowhere else.

Light mode is clouds on a pale sky, dark mode a night sky; both follow the system unless the
person picks one with the header's switch (remembered in `app.storage.user`). Every text
colour below keeps WCAG AA contrast (4.5:1) on the background it is used on; the comments give
the ratio we checked.
"""

from __future__ import annotations

from typing import Final, Literal

from nicegui import app, ui

LANGUAGE: Final = "en-GB"  # `ui.run(language=...)`: Quasar's texts and <html lang> (WCAG 3.1.1)

ThemeChoice = Literal["auto", "light", "dark"]
THEME_KEY = "theme"
THEME_ORDER: tuple[ThemeChoice, ...] = ("auto", "light", "dark")
THEME_ICONS: dict[ThemeChoice, str] = {
    "auto": "brightness_auto",
    "light": "light_mode",
    "dark": "dark_mode",
}
THEME_NAMES: dict[ThemeChoice, str] = {
    "auto": "follow the system",
    "light": "light",
    "dark": "dark",
}

SKY = {
    "primary": "#0369a1",  # sky-700: 5.9:1 with white text
    "secondary": "#0e7490",  # cyan-700: 5.4:1 with white
    "accent": "#7dd3fc",  # sky-300: decoration only
    "positive": "#15803d",  # green-700: 5.0:1 on white
    "negative": "#b91c1c",  # red-700: 6.5:1 on white
    "warning": "#b45309",  # amber-700: 5.0:1 on white
    "info": "#0369a1",
    "dark": "#0f1b2d",
    "dark_page": "#0b1422",
}

# People who ask their system for less motion get none: no transitions, no animations (the
# kiosk still rotates, it just cuts instead of moving). In the `overrides` layer like the rest:
# Quasar's own `!important` durations (the drawer's) sit in a later layer, and for important
# declarations the earlier layer wins.
REDUCED_MOTION_CSS = """@layer overrides { @media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation-duration: 0.001ms !important;
    animation-iteration-count: 1 !important; transition-duration: 0.001ms !important;
    transition-delay: 0s !important; scroll-behavior: auto !important; }
} }"""

# Tailwind covers layout; these rules cover what Quasar paints itself (page, cards, the dark
# variants of the brand colours, focus rings, touch-target sizes). They live in NiceGUI's
# `overrides` cascade layer: Quasar's `!important` colour classes sit in a later layer, and
# for important declarations an earlier layer wins (unlayered ones would lose to both).
CSS = (
    """@layer overrides {
:root { --cloud: #f0f9ff; --ink: #0f172a; --muted: #475569; --line: #e0eef8; }
body { background: var(--cloud); color: var(--ink);
  font-family: ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
body.body--dark { --cloud: #0b1422; --ink: #e2e8f0; --muted: #a3b3c7; --line: #1e3350;
  background: var(--cloud); color: var(--ink); }
.text-muted { color: var(--muted); }                      /* 7.2:1 light, 7.6:1 dark */
.q-card { border: 1px solid var(--line); box-shadow: 0 1px 3px rgb(3 105 161 / 0.08); }
.body--dark .q-card { background: #12233a; }
.body--dark .q-header { background: #0f2740 !important; }
.body--dark .q-drawer { background: #0f1b2d; }
.body--dark .text-primary { color: #7dd3fc !important; }  /* sky-300 on #12233a: 9.5:1 */
.body--dark .text-positive { color: #4ade80 !important; } /* 8.9:1 */
.body--dark .text-negative { color: #fca5a5 !important; } /* 8.1:1 */
.body--dark .text-warning { color: #fcd34d !important; }  /* 11:1 */
.verify-banner { background: #fef3c7; color: #451a03; }   /* 14:1 */
.body--dark .verify-banner { background: #422006; color: #fde68a; } /* 12:1 */
/* NiceGUI's default link blue (#3b82f6) is 3.7:1 on white: below AA. */
main .nicegui-link { color: #0369a1; }
.body--dark main .nicegui-link { color: #7dd3fc; }
.q-drawer .nicegui-link { color: var(--ink); }
.app-link { color: #0369a1; text-decoration: underline; text-underline-offset: 3px; }
.body--dark .app-link { color: #7dd3fc; }
/* Visible focus for keyboard users on every interactive element, at least 3:1 against what
   surrounds it (WCAG 1.4.11/2.4.7): sky-900 on the light page (8.8:1), amber-400 on the night
   sky (10:1), amber-200 on the blue header in both themes (4.6:1 and 12:1). */
:root { --focus: #0c4a6e; }
body.body--dark { --focus: #fbbf24; }
.q-header { --focus: #fde68a; }
:focus-visible { outline: 3px solid var(--focus) !important; outline-offset: 2px; border-radius: 4px; }
/* What gets the focus scrolls clear of the fixed header (WCAG 2.4.11 focus not obscured). */
html { scroll-padding-top: 5rem; scroll-padding-bottom: 1rem; }
/* The skip link: hidden until focused, then a clear box at the top left. */
.nicegui-skip-link:focus { z-index: 9999; background: var(--cloud); color: var(--ink);
  padding: 12px 16px; }
/* Touch targets of at least 44 px. */
.q-btn { min-height: 44px; min-width: 44px; }
.q-toggle, .q-checkbox { min-height: 44px; }
.touch { min-height: 44px; display: inline-flex; align-items: center; }
/* A card whose title link covers the whole card: one big touch target, one tab stop. */
.stretch-link::after { content: ''; position: absolute; inset: 0; z-index: 1; }
.event-card { position: relative; }
.event-card:focus-within { outline: 3px solid var(--focus); outline-offset: 2px; }
.event-card .stretch-link:focus-visible { outline: none !important; }
/* Long words (URLs, compound nouns) wrap even inside grid and flex items: `break-word` alone
   still lets a 60-letter word widen its grid track past the screen. */
.break-words { overflow-wrap: anywhere; }
/* Organizer attendee table on phones: name, status and time fit; the email is in the CSV. */
@media (max-width: 640px) {
  .attendee-table th:nth-child(2), .attendee-table td:nth-child(2) { display: none; }
}
}"""
    + "\n"
    + REDUCED_MOTION_CSS
)


def configure_quasar() -> None:
    """App-wide Quasar settings for accessibility: Quasar's page-top loading bar is a
    `role=progressbar` without a name (axe: aria-progressbar-name); give it one."""
    app.config.quasar_config["loadingBar"]["aria-label"] = "Loading"


def theme_choice() -> ThemeChoice:
    choice = app.storage.user.get(THEME_KEY, "auto")
    return choice if choice in THEME_ORDER else "auto"


def _dark_value(choice: ThemeChoice) -> bool | None:
    return {"auto": None, "light": False, "dark": True}[choice]


def apply_theme() -> ui.dark_mode:
    """Colours, shared CSS and the dark-mode element of the current page."""
    ui.colors(**SKY)
    ui.add_css(CSS)
    return ui.dark_mode(_dark_value(theme_choice()))


def theme_switch(dark: ui.dark_mode) -> ui.button:
    """A header button cycling follow-system → light → dark, remembered for the next page."""

    def describe(choice: ThemeChoice) -> str:
        return f"Colour theme: {THEME_NAMES[choice]}. Change theme"

    def cycle() -> None:
        current = theme_choice()
        choice = THEME_ORDER[(THEME_ORDER.index(current) + 1) % len(THEME_ORDER)]
        app.storage.user[THEME_KEY] = choice
        dark.value = _dark_value(choice)
        button.props(f'icon={THEME_ICONS[choice]} aria-label="{describe(choice)}"')

    choice = theme_choice()
    button = (
        ui.button(icon=THEME_ICONS[choice], on_click=cycle)
        .props(f'flat round color=white aria-label="{describe(choice)}"')
        .mark("theme-switch")
    )
    return button
