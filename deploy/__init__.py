"""Running the app as several processes behind nginx (see README.md here)."""
