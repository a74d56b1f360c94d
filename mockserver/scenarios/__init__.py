"""The scenario language: model, loader, matcher and templates."""
