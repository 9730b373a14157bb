"""Storage for Linde: tables, engines for PostGIS and SpatiaLite, migrations, importers, queries.

All SQL of the project lives in this package.
"""
