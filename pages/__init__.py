"""NiceGUI pages, one module per route family; importing this package registers them all
(main.py imports only this package)."""

from pages import (  # noqa: F401
    auth,
    dashboard,
    door,
    event_detail,
    event_form,
    home,
    kiosk,
    my_registrations,
    organizer,
    series,
    ticket,
)
