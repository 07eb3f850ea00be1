"""The only package that imports kubernetes_asyncio: a small JSON client, resources, errors."""
