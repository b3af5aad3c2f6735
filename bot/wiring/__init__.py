"""The Telegram wiring: builds, runs and feeds the PTB Application (it may import telegram)."""
