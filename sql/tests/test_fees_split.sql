-- maker + taker + other = fees, exactly, per market and day (fct_fees_daily), per market (fct_pnl) and per day
-- (fct_pnl_daily); and the days of fct_fees_daily add up to fct_pnl's fees of the market
select 'fct_fees_daily' as model, account, ticker, fee_date::varchar as at, fees_dollars as fees,
    maker_fees_dollars + taker_fees_dollars + other_fees_dollars as split
from fct_fees_daily
where fees_dollars <> maker_fees_dollars + taker_fees_dollars + other_fees_dollars
union all
select 'fct_pnl', account, ticker, null, fees_dollars, maker_fees_dollars + taker_fees_dollars + other_fees_dollars
from fct_pnl
where fees_dollars <> maker_fees_dollars + taker_fees_dollars + other_fees_dollars
union all
select 'fct_pnl_daily', account, null, pnl_date::varchar, fees_dollars,
    maker_fees_dollars + taker_fees_dollars + other_fees_dollars
from fct_pnl_daily
where fees_dollars <> maker_fees_dollars + taker_fees_dollars + other_fees_dollars
union all
select 'fct_fees_daily vs fct_pnl', p.account, p.ticker, null, p.fees_dollars, coalesce(f.fees, 0)
from fct_pnl as p
left join (
    select account, ticker, sum(fees_dollars) as fees from fct_fees_daily group by account, ticker
) as f on f.account = p.account and f.ticker = p.ticker
where p.fees_dollars <> coalesce(f.fees, 0)
