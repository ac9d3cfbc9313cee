"""The proxy: provider-compatible routes that forward, meter and charge every request.

Request path: app.py (routing) → auth.py (proxy key) → handler.py (body, hold, forward)
→ upstream.py (pooled client) → relay.py (bytes to the client, usage read on the way by
usage_counts.py) → usage_writer.py (usage row + ledger written off the response path);
reclaim.py books the holds of processes that died with requests in flight."""
