"""Application core: configuration, database, security, services, REST API and live updates."""

__version__ = "0.1.0"
