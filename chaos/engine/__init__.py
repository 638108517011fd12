"""The machinery under every fault: sessions, slots, the exchange loop, seeded payloads, limits."""
