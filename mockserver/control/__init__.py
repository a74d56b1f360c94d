"""The /_mock/ control plane: its API, the inspector, the OpenAPI documents."""
