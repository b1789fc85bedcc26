"""keapsake compatibility suite: real third-party Keap client libraries against a live keapsake."""
