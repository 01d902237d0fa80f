"""Talking to Kalshi over REST: settings in, pages out. Signing (`auth`), pacing (`pacer`), the one retry decision
(`http`), the one cursor loop (`paginator`), endpoints as data (`endpoints`) and the client over them (`client`).

Never imports :mod:`kalshi_extract.lake`.
"""
