"""The people of the day: attendees (and their details), staff signed in at a station, organizers."""
