"""The rules of the domain. Pages and REST routers both call these; nothing else decides.

Reads that may go to the read replica (app/db/, DATABASE_READ_URL) are chosen here and only
here, by calling `app.db.on_replica`: event lists and search, which include the kiosk's
rotation (`events.search_events`, except the viewer's own `mine` lists), and statistics
(`stats.user_stats`). Everything else, a single event, the signed-in user's own data, the
creator's registration lists and every decision of a write, reads the primary.
"""
