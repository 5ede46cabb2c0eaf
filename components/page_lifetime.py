"""How long the server keeps a page that nobody looks at.

NiceGUI keeps every open page's elements in server memory (bench/page_cost.py: 100-900 KiB
a page) for as long as its socket is connected, and deletes a page `RECONNECT_TIMEOUT_SECONDS`
seconds after its socket went away. A phone put in a pocket with the page open may keep its
socket alive for hours, holding that memory at exactly the moment (a popular opening)
thousands of phones are on the same page. So the page lets go by itself: after
`HIDDEN_PAGE_CLOSE_SECONDS` hidden (another tab, the screen off) it closes its socket, the server
deletes it after the reconnect timeout, and when it is shown again it reloads, showing
what is true now (its numbers may be hours old). Kiosks are never hidden; they do not use
the shell and keep their socket.
"""

from __future__ import annotations

from app.config import get_settings


def hidden_page_script() -> str:
    """The head script: after `HIDDEN_PAGE_CLOSE_SECONDS` hidden the page closes its socket
    (the server deletes it after the reconnect timeout); shown again, it reloads."""
    close_ms = int(get_settings().hidden_page_close_seconds * 1000)
    return f"""<script>
(() => {{
  let timer = null, closed = false;
  document.addEventListener('visibilitychange', () => {{
    if (document.hidden) {{
      clearTimeout(timer);
      timer = setTimeout(() => {{ closed = true; window.socket?.disconnect(); }}, {close_ms});
    }} else {{
      clearTimeout(timer);
      if (closed) window.location.reload();
    }}
  }});
}})();
</script>"""
