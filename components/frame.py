"""The shell every page shares: header, navigation, theme, toasts carried across pages.

On wide screens the navigation sits in the header; below 768 px it folds into a drawer opened
by a menu button, so a phone at 375 px never scrolls sideways. The header shows the signed-in
person's name and a sign-out button (in the drawer on phones).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from markupsafe import Markup
from nicegui import ElementFilter, context, ui

from components.a11y import PAGE_SCRIPT
from components.actions import leave_pages, resend_confirmation
from components.local_time import watch_time_zone
from components.page_lifetime import hidden_page_script
from components.promotion import announce_promotions
from components.session import (
    flash,
    forget_sign_in,
    login_url,
    safe_next,
    signed_in_identity,
    signup_url,
    take_flash,
)
from components.text import StaticHtml
from components.theme import apply_theme, theme_switch
from models.user import User

APP_NAME = "Events"


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    icon: str


PUBLIC_NAV = [NavItem("Events", "/", "event")]
MEMBER_NAV = [
    NavItem("My registrations", "/me/registrations", "confirmation_number"),
    NavItem("Dashboard", "/dashboard", "space_dashboard"),
    NavItem("New event", "/events/new", "add_circle"),
]


def _nav_items(user: User | None, current_path: str) -> list[NavItem]:
    if user is not None:
        return PUBLIC_NAV + MEMBER_NAV
    back = safe_next(current_path)
    return [
        *PUBLIC_NAV,
        NavItem("Log in", login_url(back), "login"),
        NavItem("Sign up", signup_url(back), "person_add"),
    ]


def _sign_out() -> None:
    """Sign this browser out, and send its other open pages (tabs) to the login page: what
    they show must not outlive the sign-in."""
    identity = signed_in_identity()
    page = context.client
    forget_sign_in()
    if identity is not None:
        leave_pages(identity[0], session_id=page.request.session.get("id"), keep=page)
    flash("You are signed out", "info")
    ui.navigate.to("/")


def _nav_link(item: NavItem, current_path: str) -> None:
    """A drawer entry: icon and label (the drawer is built only when first opened)."""
    link = ui.link(target=item.path).classes(
        "touch gap-2 px-3 rounded no-underline w-full text-base hover:bg-sky-100/20 "
        + ("font-semibold underline underline-offset-4" if item.path == current_path else "")
    )
    if item.path == current_path:
        link.props('aria-current="page"')
    with link:
        ui.icon(item.icon, size="sm").props('aria-hidden="true"')
        ui.label(item.label)


HEADER_LINK = Markup(
    '<a class="nicegui-link touch gap-2 px-3 rounded no-underline text-white '
    'hover:bg-white/15{active}" href="{href}"{current}>{label}</a>'
)
ACTIVE = Markup(" font-semibold underline underline-offset-4")


def _header_links(items: list[NavItem], current_path: str) -> StaticHtml:
    """The app's name and the navigation as one element of markup: they never change while
    the page is open, and every element costs server memory for as long as it is
    (bench/page_cost.py). It grows to push what follows to the right."""
    links = Markup("").join(
        HEADER_LINK.format(
            href=item.path,
            label=item.label,
            active=ACTIVE if item.path == current_path else "",
            current=Markup(' aria-current="page"') if item.path == current_path else "",
        )
        for item in items
    )
    markup = Markup(
        '<a class="nicegui-link touch px-2 text-xl font-semibold text-white no-underline '
        'tracking-tight" href="/">{name}</a>'
        '<nav class="max-md:hidden flex items-center gap-1 ml-2" aria-label="Main">{links}</nav>'
    ).format(name=APP_NAME, links=links)
    return StaticHtml(markup, [APP_NAME, *(item.label for item in items)]).classes(
        "flex items-center gap-1 grow"
    )


@contextmanager
def frame(title: str, *, user: User | None, path: str) -> Iterator[ui.element]:
    """Build the shell and yield the page's `<main>` column for its content.

    `path` is the page's own path: it marks the current navigation entry and is where the
    person returns to after logging in from here.
    """
    dark = apply_theme()
    ui.add_head_html(PAGE_SCRIPT + hidden_page_script())
    ui.page_title(f"{title} · {APP_NAME}")
    items = _nav_items(user, path)

    header_name: ui.label | None = None
    drawer = ui.left_drawer(value=False).props("overlay behavior=mobile bordered").classes("p-3")

    def fill_drawer() -> None:
        """The drawer's links, built when it first opens: most visitors (every wide screen)
        never open it, and each element costs server memory for as long as the page is
        open (bench/page_cost.py)."""
        if drawer.default_slot.children:
            return
        with (
            drawer,
            ui.element("nav")
            .classes("w-full flex flex-col gap-1")
            .props('aria-label="Navigation"'),
        ):
            if user is not None:
                # the header's name, which `show_user_name` keeps current after a profile edit
                name = header_name.text if header_name is not None else user.name
                ui.label(f"Signed in as {name}").classes("text-sm text-muted px-3 py-2").mark(
                    "drawer-user-name"
                )
            for item in items:
                _nav_link(item, path)
            if user is not None:
                ui.button("Sign out", icon="logout", on_click=_sign_out).props(
                    "flat no-caps align=left padding='0 12px'"
                ).classes("w-full text-base font-normal").mark("sign-out-drawer")

    def toggle_drawer() -> None:
        fill_drawer()
        drawer.toggle()

    with ui.header().classes("items-center gap-1 px-2 md:px-6 py-1 bg-primary text-white"):
        menu = (
            ui.button(icon="menu", on_click=toggle_drawer)
            .props('flat round color=white aria-label="Open navigation"')
            .classes("md:hidden")
            .mark("menu")
        )
        _header_links(items, path)
        theme_switch(dark)
        if user is not None:
            header_name = (
                ui.label(user.name)
                .classes("max-md:hidden truncate max-w-48 px-2")
                .mark("header-user-name")
            )
            ui.button("Sign out", on_click=_sign_out).props("flat no-caps color=white").classes(
                "max-md:hidden"
            ).mark("sign-out")

    # Screen readers hear whether the menu is open.
    menu.props('aria-expanded="false"')
    drawer.on_value_change(lambda e: menu.props(f'aria-expanded="{str(bool(e.value)).lower()}"'))
    # Escape closes the drawer and puts the focus back on the button that opened it.
    drawer.on(
        "keydown.esc",
        js_handler=f"() => {{ getHtmlElement({menu.html_id!r}).focus();"
        f" getHtmlElement({menu.html_id!r}).click(); }}",
    )

    # Quasar's page is already the <main> landmark; this is its centred column.
    main = ui.element("div").classes("w-full max-w-5xl mx-auto flex flex-col gap-5")
    ui.skip_link(target=main)

    if (message := take_flash()) is not None:
        text, kind = message
        ui.notify(text, type=kind, position="top")
    watch_time_zone()
    if user is not None and user.id is not None:
        announce_promotions(user.id)

    with main:
        if user is not None and not user.email_verified:
            verify_banner()
        yield main


def verify_banner() -> None:
    """The quiet reminder on every page while the person's address is unconfirmed (UI.md):
    until then, mail about their events waits (app/services/held_mail.py)."""
    with (
        ui.element("section")
        .props('aria-label="Confirm your email" data-testid=verify-banner')
        .classes(
            "verify-banner w-full flex flex-wrap items-center gap-x-3 gap-y-1 rounded px-4 py-2"
        )
        .mark("verify-banner")
    ):
        ui.label("Confirm your email to get tickets and updates by mail").classes("grow")
        ui.button("Send the link again", on_click=resend_confirmation, color=None).props(
            "flat no-caps dense"
        ).classes("touch underline").mark("resend-link")


def show_user_name(name: str) -> None:
    """Repaint the signed-in name in the header and drawer (after a profile change)."""
    for label in ElementFilter(kind=ui.label, marker="header-user-name", local_scope=False):
        label.text = name
    for label in ElementFilter(kind=ui.label, marker="drawer-user-name", local_scope=False):
        label.text = f"Signed in as {name}"
