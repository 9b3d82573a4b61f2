"""Core of the 12348 legal-aid hotline bot: settings, database, tickets, eligibility, reports.

Depends on nothing in `bot/` or `actions/`; they depend on it.
"""
