"""One module per platform API the sandbox speaks; each exports ROUTES."""
