"""From the API into the lake: stream declarations (`streams`), what a pull covers (`plan`), the incremental rules
(`rules`), the pull itself (`pull`) and what the lake holds (`status`). Uses both `api` and `lake`.
"""
