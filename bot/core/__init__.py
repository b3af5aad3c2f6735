"""What every capability shares: clock, translations, numbers, text limits, logs, callbacks."""
