"""NiceGUI pages, one module per route family; importing this package registers them all
(main.py imports only this package)."""

import app.web.ids  # noqa: F401  (first: the `{name:id}` convertor of the routes below)
from pages import (  # noqa: F401
    accounts,
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
