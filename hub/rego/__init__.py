"""Policy engines behind one interface: embedded Rego and the OPA server. Infrastructure.

- `hub.rego.engine`: the `PolicyEngine` protocol and the batching base the engines share;
- `hub.rego.embedded`, `hub.rego.opa`, `hub.rego.regopy_engine`: the implementations;
- `hub.rego.factory`: `load_engine(kind, policy_dir, ...)`, the one place that picks one;
- `hub.rego.serving`: the engine a process serves, following the version active in the
  database, and the failing engine that stands in (fail closed) when it cannot be loaded;
- `hub.rego.bundle`, `hub.rego.policy_tests`, `hub.rego.annotations`: policy files, their
  own tests, and the METADATA that says why a rule decided.

Only the gate (hub.gate) asks the serving engine; see docs/architecture.md.
"""
