"""Policy engines behind one interface: embedded Rego and the OPA server. Infrastructure."""
