"""The Veiligheidshuis role play behind `vhhub demo`."""
