"""Proactive messages: queued in the transaction of their cause, sent within Telegram's limits."""
