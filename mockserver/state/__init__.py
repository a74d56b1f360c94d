"""Per-tenant data: records of conversations, messages and running tasks; the server-side journal."""
