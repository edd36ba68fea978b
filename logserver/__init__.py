"""Log collection: the TCP log server, its storage, the logging handler apps use, the CLI."""
