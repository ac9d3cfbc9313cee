"""The operator's console (/admin): one module per page, each with add_pages(app)."""
