"""The webhook relay: stores ServiceTrade webhooks and forwards them to agents (docs/relay.md)."""
