"""Identity: token verification, replay store, the network registry, the current viewer."""
