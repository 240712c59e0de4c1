"""A small versioned JSON API over the same services as the pages."""
