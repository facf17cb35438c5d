"""All SQL of the billing service (asyncpg), one module per part of the trade."""
