"""The workspace (CONTRACT v2): a tenant's standing roster, pipeline, policy and bookings, the v1 request
they stand for, the plans proposed from it and published, and its CSV files."""
