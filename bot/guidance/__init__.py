"""Guidance alerts: the library of WHO guidance and information materials, topic
subscriptions, alerts queued in the outbox, and NFPs' read acknowledgements."""
