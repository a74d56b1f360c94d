"""What users import in tests: the pytest plugin, the handle, servers, the journal view, the verdict."""
