"""Actions: what the team will do about a theme, who owns it and by when."""
