"""The sandbox: a simulated marketing business and the platform APIs that serve it."""
