"""HTTP API (FastAPI app factory, schemas, routes, auth)."""
