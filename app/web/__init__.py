"""The web shell: everything that knows NiceGUI, Starlette or socket.io. HTTP middleware,
the socket guard, health and metrics endpoints, request facts, outage handling, start-up,
and `nicegui_hooks`, the one door to NiceGUI's internals that pages and components use."""
