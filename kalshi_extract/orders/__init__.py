"""Order entry on the shared client, exactly once, journaled in the lake: the `Orders` front (`front`), V1-style
buy/sell to V2 translation (`translate`), checks before sending (`validate`), the exactly-once executor
(`executor`), the journal (`journal`) and result types (`results`).
"""

from kalshi_extract.orders.front import Orders

__all__ = ["Orders"]
