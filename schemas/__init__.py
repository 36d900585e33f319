"""msgspec Structs for every record, input, page and problem. Depends on msgspec only."""
