"""数据服务网关: units' systems read granted resources with client credentials; every call enforced and accounted for."""
