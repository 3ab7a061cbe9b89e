"""The tamper-evident access log: entries, Merkle tree, checkpoints, proofs, queries."""
