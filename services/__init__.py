"""Services of the extranet, one package each, plugged into the portal through the registry (DESIGN.md §3).

A service package exposes a ``portal.registry.ServiceDescriptor`` and is declared in ``pyproject.toml`` under
``[project.entry-points."extranet.services"]``. The packages below are built in their own issues; a descriptor without
a blueprint is shown on the home page as « en préparation ».
"""
