"""The proxy: provider-compatible routes that forward, meter and charge every request.

Request path: app.py (routing) → auth.py (proxy key) → handler.py (body, hold, forward)
→ upstream.py (pooled client) → relay.py (bytes to the client, usage read on the way)
→ metering.py (usage row + ledger written off the response path)."""
