"""The live-number rules exist twice: in Python (components/live_numbers.py, the server's copy
of each element) and in JavaScript (assets/live_numbers.js, the browser's). Both run here
over one table of cases (the JavaScript with node) and must agree."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from components.live_numbers import share_taken, text_for, tone_for, visible_for

SCRIPT = Path(__file__).parents[2] / "assets" / "live_numbers.js"
CHOICES = ["Full", "{available} spot left", "{available} of {capacity} left"]
TONES = ["full", "few", "plenty"]
CASES = [
    {"available": a, "registered": c - a, "capacity": c, "waiting": w}
    for c, a, w in [
        (1, 0, 0),
        (1, 1, 0),
        (10, 0, 3),
        (10, 1, 0),
        (10, 2, 0),
        (10, 3, 0),
        (3, 3, 0),
        (7, 5, 0),
        (100000, 19999, 0),
        (100000, 20001, 0),
        (5, 0, 0),
    ]
]


def python_answers() -> list[list[object]]:
    return [
        [
            text_for("choice", n, CHOICES),
            text_for("available", n, CHOICES),
            tone_for(TONES, 0.2, n),
            visible_for("open", n),
            visible_for("full_or_waiting", n),
            share_taken(n),
        ]
        for n in CASES
    ]


def javascript_answers() -> list[list[object]]:
    source = SCRIPT.read_text()
    rules = source[source.index("function textFor") : source.index("function classesFor")]
    program = f"""{rules}
const cases = {json.dumps(CASES)}, choices = {json.dumps(CHOICES)}, tones = {json.dumps(TONES)};
console.log(JSON.stringify(cases.map((n) => [
  textFor('choice', n, choices), textFor('available', n, choices), toneFor(tones, 0.2, n),
  visibleFor('open', n), visibleFor('full_or_waiting', n), shareTaken(n),
])));"""
    out = subprocess.run(["node", "-e", program], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_browser_and_the_server_compute_the_same_numbers_texts_and_tones():
    assert javascript_answers() == python_answers()
