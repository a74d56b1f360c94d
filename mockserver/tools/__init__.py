"""Commands beside serve: lint, reload, the start-up banner."""
