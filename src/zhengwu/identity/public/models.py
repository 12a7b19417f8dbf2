"""Tables of the public accounts (自然人, 法人, 经办人)."""
