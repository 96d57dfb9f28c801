"""The workspace (CONTRACT.md, contract v2): a tenant's standing roster, pipeline and bookings."""
