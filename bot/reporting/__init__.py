"""The weekly report: the cycle, the questionnaire, the conversation, reminders and follow-ups."""
