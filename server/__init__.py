"""Server: the asyncio shell (WebSocket gateway, HTTP, auth, metrics, config)."""
