"""The need-to-know briefing of a case and the updates feed."""
