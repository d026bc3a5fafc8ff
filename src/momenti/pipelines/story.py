"""Jobs of the team's week: the hourly `review_mail` job sends the Friday review reminders and the Monday
summaries that are due (domains/story/review_mail.py decides what is due in each team's time zone)."""

from __future__ import annotations

from typing import Any


def register_jobs(runner: Any) -> None:
    from huey import crontab

    from momenti.domains.story import review_mail

    runner.task(lambda: review_mail.send_due(runner.ws), "review_mail", periodic=crontab(minute="2"))
