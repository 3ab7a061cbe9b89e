"""The gate: the one place that asks the policy and mints the permits the vault demands.

- `hub.gate.gate`: `Gate` (authorise actions, publishes and disclosures; fail closed);
- `hub.gate.inputs`: the typed builder of every policy input;
- `hub.gate.permits`: `ActionPermit`, `FactPermit`, `PlanPermit`, minted here only.
"""
