"""The one path from workers to browsers: events (published by workers after commit),
consumers (one websocket per open page of a signed-in user) and their routing."""
