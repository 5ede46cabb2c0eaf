"""NiceGUI pages, one module per route family; importing this package registers them."""

from pages import home  # noqa: F401
