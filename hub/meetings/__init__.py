"""Case conferences (casusoverleg): meetings of a table, their cases, attendance and minutes."""
