"""The registry table: ``table`` owns keys and the value codec; one adapter module per port."""
