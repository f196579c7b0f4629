"""The `lockgate` operator CLI."""
