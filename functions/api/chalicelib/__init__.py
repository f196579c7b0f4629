"""The API function's own modules (Chalice's ``chalicelib`` convention): one Blueprint per concern."""
