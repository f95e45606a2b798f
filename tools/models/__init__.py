"""Model access: provider clients, the offline engine, and ordered fallback under one deadline."""
