"""Signed publish receipts: the hub's signed word on what a publisher sent and where it was
logged, verifiable offline with the hub's public key (docs/adr/0405)."""
