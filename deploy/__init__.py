"""Running DevRooms for real: the process launcher and the nginx site (README "Production run")."""
