"""Read-only share links to one finished separation: the player and the downloads its owner
allows, for anyone holding the link, until it expires or is revoked."""
