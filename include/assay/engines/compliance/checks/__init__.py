"""The shipped compliance checks, one module per area; each registers its checks with ``@check`` on import
(``assay.engines.compliance.registry.load_builtin_checks``). ``_sql`` holds their shared helpers."""
