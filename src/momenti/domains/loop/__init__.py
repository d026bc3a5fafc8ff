"""The closed loop: alert rules, cases with their SLA clock, and signed webhooks.

`rules` reads and versions the alert rules (YAML), `cases` opens and moves cases (every change in the case's
history), `calendar` and `sla` count business time and compute each case's SLA state from its status history
on read, `webhooks` keeps endpoints, signs and delivers (behind `ssrf`'s guard).
"""
