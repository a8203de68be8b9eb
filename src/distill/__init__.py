"""Shared code of the distillation study: data, models, losses, mappings."""
