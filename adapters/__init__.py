"""Infrastructure: settings, composition root, SQL views, HTTP API, CLI, projector."""
