"""The organizer console at /admin: one blueprint per area of the console."""
