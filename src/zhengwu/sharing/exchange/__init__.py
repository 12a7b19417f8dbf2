"""数据交换: subscriptions deliver each new version's changes to consumers (webhook, change feed, 库表交换)."""
