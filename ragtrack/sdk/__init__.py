"""The client side of ragtrack: runs, background writing and environment capture."""
