"""`{name:id}` in a page route: a database id, one bound for every route (models/validation
ID_MIN..ID_MAX, as the API's path parameters use).

Starlette's `int` convertor takes any run of digits, and `/me/tickets/99999999999999999999`
reached SQLite as a number it cannot bind (OverflowError: a 500). This one hands the page 0
for anything outside the bound, an id that names nothing, so the page answers its ordinary
"not found"; Python never even parses a very long run of digits (int() refuses over 4,300).
Registered when this module is imported, which the `pages` package does before any route.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from models.validation import ID_MAX, ID_MIN

NO_ID = 0  # what an out-of-bound id becomes: below ID_MIN, never a row
_DIGITS_MAX = len(str(ID_MAX))


class IdConvertor(Convertor[int]):
    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        if len(value) > _DIGITS_MAX:
            return NO_ID
        number = int(value)
        return number if ID_MIN <= number <= ID_MAX else NO_ID

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
