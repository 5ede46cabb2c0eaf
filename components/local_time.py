"""Times in the viewer's own time zone.

Services speak UTC. The browser knows its zone (`Intl...resolvedOptions().timeZone`) but the
server renders the page before the browser has said anything, so:

1. the zone, once known, is kept in `app.storage.user` and every later page renders with it
   straight away;
2. every page asks the browser again after it connects (one tiny round trip, in the
   background): on a first visit, or after travelling, the times already on screen are
   re-rendered in place (`LocalTime` labels know their instant);
3. until then, and whenever the browser cannot answer (or in NiceGUI's simulated `User`),
   times are shown in UTC and say so.

Forms that turn a typed local time into an instant use `ensure_zone()`, which waits for the
answer when the zone is not known yet, so what the person sees is what gets saved.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nicegui import app, ui
from nicegui.client import Client

ZONE_KEY = "time_zone"
DETECT_JS = "Intl.DateTimeFormat().resolvedOptions().timeZone"
DETECT_TIMEOUT_S = 2.0

CONNECT_TIMEOUT_S = 30.0


def parse_zone(name: object) -> ZoneInfo | None:
    """A ZoneInfo for an IANA name that came from the browser, or None if it is not one."""
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# The zone each page was last shown in, for code that runs outside a request (live-update
# callbacks): there `app.storage.user` cannot be read, the page's client can.
_client_zones: WeakKeyDictionary[Client, tzinfo] = WeakKeyDictionary()


def viewer_zone() -> tzinfo:
    """The zone this browser told us about, else UTC."""
    client = ui.context.client
    try:
        name = app.storage.user.get(ZONE_KEY)
    except RuntimeError:  # no request in this context: a live update re-rendering a page
        return _client_zones.get(client, UTC)
    zone = parse_zone(name) or UTC
    _client_zones[client] = zone
    return zone


def zone_name(zone: tzinfo) -> str:
    return "UTC" if zone is UTC else str(zone)


def format_local(moment: datetime, zone: tzinfo) -> str:
    """`moment` (aware) as a wall-clock time in `zone` with the zone's abbreviation:
    "Sat 6 Mar 2027, 18:30 CET" (English; built by hand, `%-d` is not portable)."""
    local = moment.astimezone(zone)
    label = local.tzname() or zone_name(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {label}"


class ZoneAware:
    """An element showing times, re-rendered in place once the browser tells its zone.

    `LocalTime` is one; markup that holds a time among other static text (an event card)
    is another, so it can stay a single element (bench/page_cost.py).
    """

    def show_in(self, zone: tzinfo) -> None:
        raise NotImplementedError


class LocalTime(ui.label, ZoneAware):
    """A label showing an instant in the viewer's zone; re-renders when the zone is learnt."""

    zone: tzinfo = UTC

    def __init__(self, moment: datetime, *, zone: tzinfo | None = None) -> None:
        """`zone`: the zone to show (code running outside a request, which cannot read the
        viewer's storage, passes the one it knows); default the viewer's."""
        self.moment = moment
        self.zone = zone or viewer_zone()
        super().__init__(format_local(moment, self.zone))
        self.props(f'title="{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"')

    def show_in(self, zone: tzinfo) -> None:
        self.zone = zone
        self.text = format_local(self.moment, zone)

    def set_moment(self, moment: datetime) -> None:
        """Show another instant in the same zone (an edited event; works outside a request)."""
        self.moment = moment
        self.props(f'title="{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"')
        self.show_in(self.zone)


async def _ask_browser(client: Client) -> ZoneInfo | None:
    try:
        await client.connected(timeout=CONNECT_TIMEOUT_S)
        answer = await client.run_javascript(DETECT_JS, timeout=DETECT_TIMEOUT_S)
    except TimeoutError:  # ClientConnectionTimeout is one too
        return None
    return parse_zone(answer)


async def _refresh_zone(client: Client) -> None:
    zone = await _ask_browser(client)
    if zone is None or client.is_deleted:
        return
    if app.storage.user.get(ZONE_KEY) == str(zone):
        return
    app.storage.user[ZONE_KEY] = str(zone)
    _client_zones[client] = zone
    for element in client.layout.descendants():
        if isinstance(element, ZoneAware):
            element.show_in(zone)


def watch_time_zone() -> None:
    """Ask the browser for its zone whenever it connects (called by the frame on every page).

    A connect handler, not a task awaiting `client.connected()`: awaiting that during the
    page build would make NiceGUI send the page before its content is built.
    """
    client = ui.context.client

    async def ask() -> None:
        await _refresh_zone(client)

    client.on_connect(ask)


async def ensure_zone() -> tzinfo:
    """The viewer's zone, waiting for the browser's answer if we do not know it yet."""
    name = app.storage.user.get(ZONE_KEY)
    if parse_zone(name) is not None:
        return viewer_zone()
    zone = await _ask_browser(ui.context.client)
    if zone is not None:
        app.storage.user[ZONE_KEY] = str(zone)
        return zone
    return UTC


def local_to_utc(day: date, clock: time, zone: tzinfo) -> datetime:
    """The instant a person means by `day` at `clock` on a wall clock in `zone`.

    Wall-clock times that happen twice (the hour the clocks go back) mean the first one;
    times that never happen (the hour skipped in spring) are read with the offset before the
    change, which lands them just after it — what people mean in practice.
    """
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def local_day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The first and the last instant of a local calendar day, in UTC (for date filters)."""
    start = local_to_utc(day, time(0, 0), zone)
    end = local_to_utc(day + timedelta(days=1), time(0, 0), zone) - timedelta(microseconds=1)
    return start, end
