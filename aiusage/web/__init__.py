"""Backend HTTP routes that are not the proxy: auth (sets the session cookie), health."""
