#!/usr/bin/env python3
"""Expected calendar answers from Python's zoneinfo, an independent reader of /usr/share/zoneinfo
(it applies the TZif footer's POSIX TZ rule past the last transition).

One line per instant: zone, instant (ms), its month [start, end) (ms), its local date, that date's
local midnight (ms), and its local RFC 3339 text ("-" when the offset has seconds). A local
midnight that happens twice is the earlier one; one skipped by a DST jump is the jump. The
instants are each month's start for 2038-2100 and random ones (fixed seed) in 1900-2100 and
2100-9998. Read by tests/calendar_zoneinfo_test.cpp.
"""
import argparse
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",  # southern hemisphere
    "America/Santiago",  # transitions at 24:00
    "Asia/Tehran",  # DST until 2022, none since
    "Pacific/Chatham",  # +12:45 / +13:45
    "Europe/Dublin",  # negative DST (winter time is the "daylight" one)
    "America/St_Johns",  # -03:30
    "Pacific/Kiritimati",  # +14
    "Australia/Lord_Howe",  # half-hour DST
    "America/Havana",  # transitions at midnight (a repeated November 1st midnight)
    "America/Nuuk",  # transitions at -1:00 local
    "Antarctica/Troll",  # two-hour DST
    "Asia/Jerusalem",  # M3.4.4/26
    "Asia/Gaza",  # M3.4.4/50
    "Atlantic/Azores",
    "Africa/Casablanca",  # explicit transitions until 2087
    "America/Asuncion",
    "Asia/Kolkata",
    "Asia/Kathmandu",
]

UTC = timezone.utc


def ms(dt):
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def instant(t_ms):
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t_ms)


def wall(t_ms, zone):
    """The naive local time at instant t_ms."""
    return instant(t_ms).astimezone(zone).replace(tzinfo=None)


def earliest(wall_time, zone):
    """The earliest instant whose local time is wall_time, or the jump past it in a DST gap."""
    a = ms(wall_time.replace(tzinfo=zone, fold=0))
    b = ms(wall_time.replace(tzinfo=zone, fold=1))
    if wall(a, zone) == wall_time or wall(b, zone) == wall_time:
        return min(t for t in (a, b) if wall(t, zone) == wall_time)
    lo, hi = min(a, b), max(a, b)  # the jump lies in (lo, hi]: bisect on whole seconds
    while hi - lo > 1000:
        mid = lo + (hi - lo) // 2000 * 1000
        if wall(mid, zone) >= wall_time:
            hi = mid
        else:
            lo = mid
    return hi


def rfc3339_local(t_ms, zone):
    local = instant(t_ms - t_ms % 1000).astimezone(zone)
    off = local.utcoffset()
    if off.total_seconds() % 60:
        return "-"
    minutes = int(off.total_seconds()) // 60
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if minutes == 0:
        return text + "Z"
    sign = "-" if minutes < 0 else "+"
    return text + "%s%02d:%02d" % (sign, abs(minutes) // 60, abs(minutes) % 60)


def row(name, zone, t_ms):
    w = wall(t_ms, zone)
    first = datetime(w.year, w.month, 1)
    nxt = datetime(w.year + (w.month == 12), w.month % 12 + 1, 1)
    day = datetime(w.year, w.month, w.day)
    return "%s %d %d %d %s %d %s" % (
        name,
        t_ms,
        earliest(first, zone),
        earliest(nxt, zone),
        day.strftime("%Y-%m-%d"),
        earliest(day, zone),
        rfc3339_local(t_ms, zone),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20380119)
    ap.add_argument("--random", type=int, default=150, help="random instants per zone and range")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    ranges = [
        (ms(datetime(1900, 1, 1, tzinfo=UTC)), ms(datetime(2101, 1, 1, tzinfo=UTC))),
        (ms(datetime(2038, 1, 1, tzinfo=UTC)), ms(datetime(2101, 1, 1, tzinfo=UTC))),
        (ms(datetime(2101, 1, 1, tzinfo=UTC)), ms(datetime(9998, 1, 1, tzinfo=UTC))),
    ]
    for name in ZONES:
        zone = ZoneInfo(name)
        for year in range(2038, 2101):
            for month in range(1, 13):
                print(row(name, zone, earliest(datetime(year, month, 1), zone)))
        for lo, hi in ranges:
            for _ in range(args.random):
                print(row(name, zone, rng.randrange(lo, hi)))


if __name__ == "__main__":
    main()
