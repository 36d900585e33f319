"""A/B benchmark of Parley's list reads against a minimal FastAPI + pydantic peer (see README.md)."""
