"""Everything that talks to Kalshi and lands data. No Prefect, no CLI."""
