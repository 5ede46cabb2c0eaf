"""NiceGUI pages, one module per route family; importing this package registers them."""

from pages import (  # noqa: F401
    auth,
    dashboard,
    door,
    event_detail,
    event_form,
    home,
    my_registrations,
    ticket,
)
