"""The app's pages; each module registers its routes with `add_pages(app)`."""
