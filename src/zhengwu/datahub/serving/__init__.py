"""服务库 (serving store): indexed relational copies of each resource's current lake version, switched atomically."""
