"""One module per route; pages only render state."""
