"""NiceGUI pages, one module per route family; importing this package registers them."""

from pages import auth, dashboard, event_detail, event_form, home, my_registrations  # noqa: F401
