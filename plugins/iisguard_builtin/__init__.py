"""iisguard's first-party rule packs, one module per area, each registered through the `iisguard` entry-point group."""
