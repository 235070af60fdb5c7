"""The Obsidian vault: load, parse (markdown-it-py with an Obsidian plugin), resolve links,
graph, and the caches that spare parsing unchanged notes."""
