"""The database: connections and the one-transaction helper (db), Alembic migrations (schema,
migrations/), and the tables, one models module per area.
"""
