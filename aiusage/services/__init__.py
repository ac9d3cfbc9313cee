"""Services shared by the proxy, the HTTP routes, the Reflex states and the CLI.

Plain async functions over an AsyncSession: testable without Reflex or a server."""
