"""The site: compile the model into a renderer-independent Markdown tree (pages, escaping,
charts), render it with MkDocs through a thin plugin, and serve it locally."""
