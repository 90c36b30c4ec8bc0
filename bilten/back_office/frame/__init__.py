"""The back office's frame: the access check and the event's header (`state`), and the page of
tabs around the sections (`page`)."""
