"""Mooncake Transfer Engine and Store (C++20 implementation), API-compatible with upstream's
`mooncake.engine` and `mooncake.store` modules."""
