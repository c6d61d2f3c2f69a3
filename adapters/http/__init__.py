"""HTTP plumbing shared by the ServiceTrade and PartsLedger adapters."""
