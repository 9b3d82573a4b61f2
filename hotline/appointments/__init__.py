"""Appointments at the county legal aid centres (预约): slots, bookings, no-shows, reminders.

Core only (no bot/ or actions/ imports): `slots.py` computes free slots on the SLA's business calendar,
`service.py` books, cancels, rebooks and marks attendance (audited on the ticket, no double booking under
concurrent requests), `reminders.py` queues the day-before reminder in the gateway's outbox.
"""
