"""Presentation: each reporter takes what the library computed (a RunSummary, a timeline, phases,
an address space, an events table) and shows or writes it; none of them parses or replays.

* ``tables``: rich tables onto a Console passed in (the CLI's terminal output);
* ``plot``: the VSZ chart as a matplotlib Figure (no pyplot, no backend switch);
* ``maps``: an address space as /proc/PID/maps text;
* ``export``: the events and timeline tables as Parquet, CSV or JSON Lines.
"""
