"""Apps from Dify DSL exports (DESIGN §11, DSL.md §A): load -> validate -> record; graph_model for runs."""
