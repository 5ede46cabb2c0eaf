"""The rules of the domain. Pages and REST routers both call these; nothing else decides."""
