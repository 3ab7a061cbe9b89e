"""Notifications: subscriptions, the transactional outbox and signed CloudEvents delivery."""
