"""Business time and SLA clocks, on worked examples computed by hand.

Every expected time is written out in UTC (the store's convention) with the local reasoning beside it, so a
wrong DST offset, holiday or day step fails the exact comparison. Nothing reads the real clock: `now` is
always a fixed datetime.

Europe/Rome is UTC+1 (CET) in winter and UTC+2 (CEST) in summer; in 2026 the clocks go forward on Sunday
29 March and back on Sunday 25 October. The default calendar opens 09:00-18:00 Monday to Friday (9 h a day).
"""

from __future__ import annotations

import datetime as dt
import time as _time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momenti.domains.loop.calendar import BusinessCalendar
from momenti.domains.loop.sla import PAUSE_STATUSES, SlaClock, SlaPolicy, sla_clock

H = 3600.0
ROME = BusinessCalendar()  # Europe/Rome, Mon-Fri 09:00-18:00, Italian public holidays
POLICY = SlaPolicy(first_contact_hours=16, resolution_hours=40)

# Monday 2 March 2026, 09:00 CET = 08:00 UTC: the opening of most SLA examples (no holiday that week or the next)
MON = dt.datetime(2026, 3, 2, 8, 0)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args)  # type: ignore[arg-type]


def clock(history: list[tuple[dt.datetime, str]], now: dt.datetime, policy: SlaPolicy = POLICY,
          opened_at: dt.datetime = MON) -> SlaClock:
    return sla_clock(opened_at, [(opened_at, "new"), *history], policy, now)


# -- the calendar -------------------------------------------------------------------------------------------


def test_friday_afternoon_plus_16_business_hours_is_tuesday() -> None:
    # Fri 6 Mar 16:00 CET (15:00 UTC): Fri 16-18 = 2 h, Mon 9 Mar 9 h (11), Tue 10 Mar 5 h -> 14:00 CET = 13:00 UTC
    start = utc(2026, 3, 6, 15, 0)
    due = ROME.add_business_seconds(start, 16 * H)
    assert due == utc(2026, 3, 10, 13, 0)
    assert ROME.business_seconds(start, due) == 16 * H
    # the same through the SLA: a case opened then, with nothing happened yet
    c = sla_clock(start, [(start, "new")], POLICY, now=start)
    assert c.first_contact_due == utc(2026, 3, 10, 13, 0)
    assert c.first_contact_state == "on_track" and c.first_contact_used == 0


def test_christmas_holidays_and_weekend_are_skipped() -> None:
    # Wed 23 Dec 17:00 CET (16:00 UTC): Wed 1 h, Thu 24 Dec (a workday) 9 h (10), Fri 25 and Sat 26 holidays,
    # Sun 27, then Mon 28 Dec 6 h -> 15:00 CET = 14:00 UTC
    assert not ROME.is_holiday(dt.date(2026, 12, 24))
    assert ROME.is_holiday(dt.date(2026, 12, 25)) and ROME.is_holiday(dt.date(2026, 12, 26))
    due = ROME.add_business_seconds(utc(2026, 12, 23, 16, 0), 16 * H)
    assert due == utc(2026, 12, 28, 14, 0)
    # without public holidays Christmas Day counts: Thu 9 h (10), Fri 25 Dec 6 h -> 15:00 CET
    no_holidays = BusinessCalendar(country=None)
    assert no_holidays.add_business_seconds(utc(2026, 12, 23, 16, 0), 16 * H) == utc(2026, 12, 25, 14, 0)


def test_company_closure_is_a_holiday() -> None:
    cal = BusinessCalendar(extra_holidays=(dt.date(2026, 3, 9),))  # closed Monday 9 March
    assert cal.is_holiday(dt.date(2026, 3, 9)) and not ROME.is_holiday(dt.date(2026, 3, 9))
    # Fri 6 Mar 16:00 CET: Fri 2 h, Mon closed, Tue 9 h (11), Wed 5 h -> 14:00 CET = 13:00 UTC
    assert cal.add_business_seconds(utc(2026, 3, 6, 15, 0), 16 * H) == utc(2026, 3, 11, 13, 0)


def test_spring_forward_gives_the_right_utc_due() -> None:
    # Fri 27 Mar 16:00 CET (15:00 UTC): Fri 2 h, Mon 30 Mar (now CEST) 9 h, Tue 31 Mar 5 h -> 14:00 CEST = 12:00 UTC
    start = utc(2026, 3, 27, 15, 0)
    assert ROME.add_business_seconds(start, 16 * H) == utc(2026, 3, 31, 12, 0)
    # Monday opens at 09:00 CEST = 07:00 UTC, an hour earlier in UTC than the Friday before (08:00 UTC)
    assert ROME.is_open(utc(2026, 3, 30, 7, 0)) and not ROME.is_open(utc(2026, 3, 30, 6, 59))
    assert ROME.is_open(utc(2026, 3, 27, 8, 0)) and not ROME.is_open(utc(2026, 3, 27, 7, 59))
    # Fri 16:00 CET -> Mon 10:00 CEST (08:00 UTC): 2 h + 1 h
    assert ROME.business_seconds(start, utc(2026, 3, 30, 8, 0)) == 3 * H


def test_fall_back_gives_the_right_utc_due() -> None:
    # Fri 23 Oct 16:00 CEST (14:00 UTC): Fri 2 h, Mon 26 Oct (now CET) 9 h, Tue 27 Oct 5 h -> 14:00 CET = 13:00 UTC
    assert ROME.add_business_seconds(utc(2026, 10, 23, 14, 0), 16 * H) == utc(2026, 10, 27, 13, 0)
    # Monday closes at 18:00 CET = 17:00 UTC
    assert ROME.is_open(utc(2026, 10, 26, 16, 59)) and not ROME.is_open(utc(2026, 10, 26, 17, 0))


def test_is_open_edges() -> None:
    assert ROME.is_open(MON)  # opening is inclusive: Mon 09:00 CET
    assert not ROME.is_open(utc(2026, 3, 2, 17, 0))  # closing is exclusive: Mon 18:00 CET
    assert not ROME.is_open(utc(2026, 3, 7, 10, 0))  # Saturday
    assert not ROME.is_open(utc(2026, 12, 25, 10, 0))  # Christmas, a Friday
    assert ROME.is_open(utc(2026, 12, 24, 10, 0))


def test_business_seconds_edges() -> None:
    assert ROME.business_seconds(MON, MON) == 0
    assert ROME.business_seconds(utc(2026, 3, 3, 8), MON) == 0  # end before start
    # Sat 12:00 -> Mon 10:00 CET: only Mon 09-10 counts
    assert ROME.business_seconds(utc(2026, 3, 7, 11), utc(2026, 3, 9, 9)) == 1 * H
    # a whole week, Mon 00:00 CET -> next Mon 00:00 CET: 5 x 9 h
    assert ROME.business_seconds(utc(2026, 3, 1, 23), utc(2026, 3, 8, 23)) == 45 * H


def test_add_business_seconds_edges() -> None:
    saturday = utc(2026, 3, 7, 10, 0)
    assert ROME.add_business_seconds(saturday, 0) == saturday  # nothing to elapse: start unchanged, open or not
    assert ROME.add_business_seconds(MON, 0) == MON
    # from a closed moment the count starts at the next opening: Sat -> Mon 09:00 CET + 1 h = 09:00 UTC
    assert ROME.add_business_seconds(saturday, 1 * H) == utc(2026, 3, 9, 9, 0)
    # a budget ending exactly at closing gives the closing moment, the earliest one: Mon 18:00 CET
    assert ROME.add_business_seconds(MON, 9 * H) == utc(2026, 3, 2, 17, 0)
    with pytest.raises(ValueError, match="non-negative"):
        ROME.add_business_seconds(MON, -1)
    with pytest.raises(ValueError, match="finite"):
        ROME.add_business_seconds(MON, float("inf"))


def test_long_span_is_fast_and_exact() -> None:
    # 2,000 h = 222 days of 9 h + 2 h. From Mon 5 Jan 2026 09:00 CET with no public holidays: 44 weeks
    # (220 days) reach Mon 9 Nov 09:00, Mon and Tue make 222, then Wed 11 Nov 11:00 CET = 10:00 UTC
    start = utc(2026, 1, 5, 8, 0)
    t0 = _time.perf_counter()
    assert BusinessCalendar(country=None).add_business_seconds(start, 2000 * H) == utc(2026, 11, 11, 10, 0)
    # the Italian weekday holidays on the way (Tue 6 Jan, Mon 6 Apr, Fri 1 May, Tue 2 Jun) push 4 workdays:
    # Thu 12, Fri 13, Mon 16, Tue 17 Nov 11:00 CET = 10:00 UTC
    due = ROME.add_business_seconds(start, 2000 * H)
    assert due == utc(2026, 11, 17, 10, 0)
    assert ROME.business_seconds(start, due) == 2000 * H
    assert _time.perf_counter() - t0 < 2.0  # day stepping: a few hundred steps, not millions of seconds


@settings(max_examples=150, deadline=None)
@given(start_minutes=st.integers(0, 60 * 24 * 400), budget_minutes=st.integers(0, 60 * 9 * 60))
def test_add_is_the_inverse_of_business_seconds(start_minutes: int, budget_minutes: int) -> None:
    start = utc(2026, 1, 1) + dt.timedelta(minutes=start_minutes)
    seconds = budget_minutes * 60.0
    due = ROME.add_business_seconds(start, seconds)
    assert due >= start
    assert ROME.business_seconds(start, due) == seconds
    if seconds:  # the earliest such moment: a microsecond earlier is short of the budget
        assert ROME.business_seconds(start, due - dt.timedelta(microseconds=1)) < seconds


def test_always_open_is_wall_clock_time() -> None:
    cal = BusinessCalendar(always_open=True)
    # Fri 27 Mar 16:00 UTC + 16 h = Sat 08:00 UTC, weekend or not
    assert cal.add_business_seconds(utc(2026, 3, 27, 16, 0), 16 * H) == utc(2026, 3, 28, 8, 0)
    # across the spring-forward night: 24 real hours, though the local day had 23
    assert cal.business_seconds(utc(2026, 3, 28, 12), utc(2026, 3, 29, 12)) == 24 * H
    assert cal.is_open(utc(2026, 12, 25, 3, 0)) and not cal.is_holiday(dt.date(2026, 12, 25))
    # through the SLA: a 3 h pause pushes the due 3 wall-clock hours (Fri 16:00 + 16 h + 3 h = Sat 11:00 UTC)
    policy = SlaPolicy(first_contact_hours=16, calendar=cal)
    opened = utc(2026, 3, 27, 16, 0)
    c = clock([(utc(2026, 3, 27, 17), "pending_customer"), (utc(2026, 3, 27, 20), "acknowledged")],
              now=utc(2026, 3, 27, 21), policy=policy, opened_at=opened)
    assert c.first_contact_due == utc(2026, 3, 28, 11, 0)
    assert c.first_contact_used == pytest.approx(2 / 16)  # 16-17 and 20-21


def test_calendar_without_workdays_is_refused() -> None:
    with pytest.raises(ValueError, match="workday"):
        BusinessCalendar(workdays=())
    with pytest.raises(ValueError, match="timezone"):
        BusinessCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="country"):
        BusinessCalendar(country="XX")
    with pytest.raises(ValueError, match="hours"):
        BusinessCalendar(opens=dt.time(18), closes=dt.time(9))


def test_calendar_from_dict() -> None:
    cal = BusinessCalendar.from_dict({"timezone": "Europe/London", "workdays": ["mon", "Tuesday", 3],
                                      "hours": "08:30-17:00", "country": "gb",
                                      "holidays": ["2026-12-24", dt.date(2026, 12, 31)], "always_open": False})
    assert cal == BusinessCalendar(timezone="Europe/London", workdays=(0, 1, 3), opens=dt.time(8, 30),
                                   closes=dt.time(17), country="GB",
                                   extra_holidays=(dt.date(2026, 12, 24), dt.date(2026, 12, 31)))
    assert BusinessCalendar.from_dict({}) == ROME
    assert BusinessCalendar.from_dict({"country": None}).is_holiday(dt.date(2026, 12, 25)) is False
    # London in winter is UTC: Mon 2 Mar opens 08:30 UTC
    assert cal.is_open(utc(2026, 3, 2, 8, 30)) and not cal.is_open(utc(2026, 3, 2, 8, 29))


@pytest.mark.parametrize(("config", "message"), [
    ({"timezone": "Europe/Nowhere"}, "timezone"),
    ({"timezone": 3}, "timezone"),
    ({"workdays": ["mon", "funday"]}, "workdays: 'funday'"),
    ({"workdays": [7]}, "workdays: 7"),
    ({"workdays": []}, "workdays"),
    ({"workdays": "mon"}, "workdays"),
    ({"hours": "9-18"}, "hours"),
    ({"hours": "18:00-09:00"}, "hours"),
    ({"hours": "09:00-25:00"}, "hours"),
    ({"country": "XX"}, "country: 'XX'"),
    ({"holidays": ["2026-13-01"]}, "holidays: '2026-13-01'"),
    ({"always_open": "yes"}, "always_open"),
    ({"opening": "09:00"}, "unknown key 'opening'"),
])
def test_calendar_from_dict_errors(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_dict(config)


def test_policy_from_dict() -> None:
    p = SlaPolicy.from_dict({"name": "vip", "first_contact_hours": 4, "resolution_hours": 24.5,
                             "at_risk_share": 0.5, "calendar": {"always_open": True}})
    assert p == SlaPolicy(name="vip", first_contact_hours=4, resolution_hours=24.5, at_risk_share=0.5,
                          calendar=BusinessCalendar(always_open=True))
    assert SlaPolicy.from_dict({}) == SlaPolicy()


@pytest.mark.parametrize(("config", "message"), [
    ({"first_contact_hours": 0}, "first_contact_hours"),
    ({"resolution_hours": "120"}, "resolution_hours"),
    ({"at_risk_share": 1.5}, "at_risk_share"),
    ({"name": ""}, "name"),
    ({"calendar": {"hours": "nine to five"}}, "calendar.hours"),
    ({"calendar": "Europe/Rome"}, "calendar"),
    ({"budget": 3}, "unknown key 'budget'"),
])
def test_policy_from_dict_errors(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlaPolicy.from_dict(config)


# -- the SLA clock ------------------------------------------------------------------------------------------


def test_pause_pushes_the_due_by_the_business_time_paused() -> None:
    assert PAUSE_STATUSES == frozenset({"pending_customer"})
    # unpaused: Mon 09:00 CET + 16 h = Mon 9 h, Tue 7 h -> Tue 16:00 CET = 15:00 UTC
    assert clock([], now=MON).first_contact_due == utc(2026, 3, 3, 15, 0)
    # pending Mon 10:00-13:00 CET (3 business hours): due Tue 16:00 + 3 h = Tue 18:00 (2 h) + Wed 1 h
    # -> Wed 4 Mar 10:00 CET = 09:00 UTC
    history = [(utc(2026, 3, 2, 9), "pending_customer"), (utc(2026, 3, 2, 12), "acknowledged")]
    c = clock(history, now=utc(2026, 3, 2, 13))  # Mon 14:00 CET
    assert c.first_contact_due == utc(2026, 3, 4, 9, 0)
    assert c.first_contact_used == 2 / 16  # 09-10 and 13-14 CET
    # resolution: 40 h + 3 h from Mon 09:00 = Mon..Thu 36 h, Fri 7 h -> Fri 6 Mar 16:00 CET = 15:00 UTC
    assert c.resolution_due == utc(2026, 3, 6, 15, 0)
    assert not c.paused and c.state == "on_track"


def test_while_paused_the_due_is_as_if_resumed_now() -> None:
    history = [(utc(2026, 3, 2, 9), "pending_customer")]  # pending since Mon 10:00 CET, 1 h used
    c = clock(history, now=utc(2026, 3, 2, 14))  # Mon 15:00 CET
    # 15 h left from Mon 15:00: Mon 3 h (12 left), Tue 9 h (3 left) -> Wed 12:00 CET = 11:00 UTC
    assert c.paused and c.first_contact_used == 1 / 16
    assert c.first_contact_due == utc(2026, 3, 4, 11, 0)
    # still paused on Tue 10:00 CET: Tue 8 h (7 left) -> Wed 16:00 CET = 15:00 UTC
    later = clock(history, now=utc(2026, 3, 3, 9))
    assert later.first_contact_due == utc(2026, 3, 4, 15, 0) and later.first_contact_used == 1 / 16


def test_states_on_track_at_risk_breached() -> None:
    assert clock([], now=utc(2026, 3, 2, 11)).state == "on_track"  # Mon 12:00 CET: 3 h of 16
    # Tue 11:59 CET: 9 h + 2 h 59 min < 12 h = 75 % of 16 h
    assert clock([], now=utc(2026, 3, 3, 10, 59)).state == "on_track"
    at_risk = clock([], now=utc(2026, 3, 3, 11))  # Tue 12:00 CET: 12 h = 75 %
    assert (at_risk.state, at_risk.first_contact_used) == ("at_risk", 0.75)
    # exactly at the due (Tue 16:00 CET) still in time; a minute later breached
    assert clock([], now=utc(2026, 3, 3, 15)).first_contact_state == "at_risk"
    late = clock([], now=utc(2026, 3, 3, 15, 1))
    assert (late.first_contact_state, late.state) == ("breached", "breached")
    assert late.resolution_state == "on_track"  # 16 h of 40: the resolution clock on its own is fine


def test_contact_at_the_due_is_met_and_after_it_breached() -> None:
    on_time = clock([(utc(2026, 3, 3, 15), "contacted")], now=utc(2026, 3, 3, 16))
    assert (on_time.first_contact_state, on_time.first_contact_at) == ("met", utc(2026, 3, 3, 15))
    assert on_time.first_contact_used == 1.0
    assert on_time.state == "on_track"  # after contact the resolution clock speaks: 17 h of 40
    late = clock([(utc(2026, 3, 3, 15, 1), "contacted"), (utc(2026, 3, 3, 16), "resolved")],
                 now=utc(2026, 3, 4, 8))
    # a late contact stays breached after an in-time resolution
    assert (late.first_contact_state, late.resolution_state, late.state) == ("breached", "met", "breached")


def test_met_and_resolution_at_risk() -> None:
    # contact Mon 10:00 CET, resolution Tue 10:00 CET: 10 h of 40
    history = [(utc(2026, 3, 2, 9), "contacted"), (utc(2026, 3, 3, 9), "resolved")]
    done = clock(history, now=utc(2026, 3, 10, 9))
    assert (done.first_contact_state, done.resolution_state, done.state) == ("met", "met", "met")
    assert done.resolved_at == utc(2026, 3, 3, 9) and done.resolution_used == 0.25
    # still open on Thu 12:00 CET: Mon..Wed 27 h + Thu 3 h = 30 h = 75 % of 40
    open_case = clock(history[:1], now=utc(2026, 3, 5, 11))
    assert (open_case.first_contact_state, open_case.state) == ("met", "at_risk")
    assert open_case.resolved_at is None and open_case.resolution_used == 0.75
    # due: Mon..Thu 36 h, Fri 4 h -> Fri 6 Mar 13:00 CET = 12:00 UTC
    assert open_case.resolution_due == utc(2026, 3, 6, 12, 0)


def test_reopened_case_continues_from_where_it_stopped() -> None:
    history = [(utc(2026, 3, 2, 9), "contacted"),   # Mon 10:00 CET
               (utc(2026, 3, 3, 8), "resolved")]    # Tue 09:00 CET: the resolution clock ran 9 h
    resolved = clock(history, now=utc(2026, 3, 4, 12))
    assert resolved.state == "met" and resolved.resolved_at == utc(2026, 3, 3, 8)
    assert resolved.resolution_due == utc(2026, 3, 6, 12, 0)  # opening + 40 h (see above)
    history.append((utc(2026, 3, 5, 8), "reopened"))  # Thu 09:00 CET; Tue-Thu resolved (18 h) do not count
    reopened = clock(history, now=utc(2026, 3, 5, 11))  # Thu 12:00 CET: 9 h + 3 h = 12 h
    assert reopened.resolved_at is None and reopened.resolution_used == 12 / 40
    assert (reopened.resolution_state, reopened.state) == ("on_track", "on_track")
    # 31 h left from Thu 09:00: Thu 9 (22), Fri 9 (13), Mon 9 (4) -> Tue 10 Mar 13:00 CET = 12:00 UTC
    assert reopened.resolution_due == utc(2026, 3, 10, 12, 0)
    # resolved again Thu 13:00 CET (13 h), then closed on Friday: closing is not a new resolution
    history += [(utc(2026, 3, 5, 12), "resolved"), (utc(2026, 3, 6, 9), "closed")]
    again = clock(history, now=utc(2026, 3, 9, 9))
    assert again.resolved_at == utc(2026, 3, 5, 12) and again.resolution_used == 13 / 40
    assert again.state == "met"


def test_closed_without_contact_counts_as_contact() -> None:
    c = clock([(utc(2026, 3, 2, 10), "closed")], now=utc(2026, 3, 4, 9))  # closed Mon 11:00 CET
    assert c.first_contact_at == utc(2026, 3, 2, 10) and c.resolved_at == utc(2026, 3, 2, 10)
    assert (c.first_contact_state, c.resolution_state, c.state) == ("met", "met", "met")
    assert c.first_contact_used == 2 / 16
    assert c.first_contact_due == utc(2026, 3, 3, 15, 0)  # the unpaused due, Tue 16:00 CET


def test_history_without_the_opening_entry_and_future_changes() -> None:
    history = [(utc(2026, 3, 2, 9), "contacted")]
    now = utc(2026, 3, 2, 12)
    assert sla_clock(MON, history, POLICY, now) == sla_clock(MON, [(MON, "new"), *history], POLICY, now)
    # a change after `now` has not happened yet: as of Mon 09:30 CET there was no contact
    early = sla_clock(MON, history, POLICY, utc(2026, 3, 2, 8, 30))
    assert early.first_contact_at is None and early.first_contact_used == 0.5 / 16
    with pytest.raises(ValueError, match="unknown case status 'archived'"):
        sla_clock(MON, [(MON, "archived")], POLICY, now)
