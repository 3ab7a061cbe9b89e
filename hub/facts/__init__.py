"""Facts: fact types (schemas/), publishing, corrections and withdrawal."""
