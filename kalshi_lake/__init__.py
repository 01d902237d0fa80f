"""kalshi-lake: the product surface (CLI, warehouse, backtesting)."""
