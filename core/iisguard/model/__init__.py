"""The snapshot: schema, load/validate/save, principals and well-known SIDs."""
