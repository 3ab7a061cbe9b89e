"""Cases: intake, screening, triage, participants, phases and the tables' agenda."""
