"""Catalog modules, one per area of the app; each defines EN and ZH with the same keys."""
