"""HTTP controllers: thin handlers that validate parameters and call the read service."""
