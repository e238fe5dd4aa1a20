"""Source lists: URLs, id tables and local files, normalised to video ids."""
