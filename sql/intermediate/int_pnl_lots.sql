-- grain: one row per (account, subaccount_number, ticker, lot_start_fp): a slice of cumulative YES-equivalent
-- quantity
-- purpose: FIFO lot matching of the account's fills, in SQL, without recursion, per subaccount: each subaccount
-- is its own book on the exchange (its own cash and positions), so a sale in one never closes a buy in another.
--
-- Method (interval overlap of cumulative quantities). Every fill is a signed YES-equivalent trade: book_side bid
-- buys `count` YES at yes_price, ask sells `count` YES at yes_price (= buys NO at 1 - price). Order each market's
-- fills by time (created_time, else ts). Give every buy the interval (B_before, B_after] of cumulative bought
-- quantity and every sell the interval (S_before, S_after] of cumulative sold quantity (fills of the same
-- instant are taken in matching-engine order: a sweep fills the best resting price first). FIFO -- including YES<->NO
-- flips -- matches the k-th contract bought with the k-th contract sold: while long, the next sold unit closes
-- the oldest open bought unit, which is bought unit S+1; while short, the next bought unit closes the oldest open
-- short, which is sold unit B+1. So the lots are the pieces of (0, max(B, S)] cut at every buy and sell interval
-- end; each piece lies in exactly one buy interval (if <= B) and one sell interval (if <= S), found by ASOF joins
-- (smallest interval end >= the piece's end). A piece with both is a closed lot (realized at the later fill),
-- with only a buy an open long lot, with only a sell an open short lot. O(n log n), exact DECIMAL throughout.
with fills as (
    select
        _account as account,
        subaccount_number,
        ticker,
        fill_id,
        created_time,
        yes_qty_fp,
        yes_price_dollars,
        row_number() over (
            partition by _account, subaccount_number, ticker
            order by
                coalesce(created_time, ts),
                -- fills of one instant (one order sweeping several price levels) in matching-engine order:
                -- resting bids are hit from the highest price down, resting asks from the lowest up
                case when (book_side = 'bid') = coalesce(is_taker, true)
                    then yes_price_dollars else -yes_price_dollars end,
                fill_id
        ) as fill_seq
    from stg_fills
    where yes_qty_fp is not null and yes_qty_fp <> 0
),

buys as (
    select account, subaccount_number, ticker, fill_id, created_time, yes_price_dollars,
        cast(sum(yes_qty_fp) over (partition by account, subaccount_number, ticker order by fill_seq)
            as decimal(38,2)) as cum_end
    from fills
    where yes_qty_fp > 0
),

sells as (
    select account, subaccount_number, ticker, fill_id, created_time, yes_price_dollars,
        cast(sum(-yes_qty_fp) over (partition by account, subaccount_number, ticker order by fill_seq)
            as decimal(38,2)) as cum_end
    from fills
    where yes_qty_fp < 0
),

cuts as (
    select account, subaccount_number, ticker, cum_end as piece_end from buys
    union
    select account, subaccount_number, ticker, cum_end as piece_end from sells
),

pieces as (
    select
        account,
        subaccount_number,
        ticker,
        coalesce(lag(piece_end) over (partition by account, subaccount_number, ticker order by piece_end), 0)
            as piece_start,
        piece_end
    from cuts
),

with_buy as (
    select p.*, b.fill_id as buy_fill_id, b.created_time as buy_time, b.yes_price_dollars as buy_price
    from pieces as p
    asof left join buys as b
        on b.account = p.account and b.subaccount_number = p.subaccount_number and b.ticker = p.ticker
        and p.piece_end <= b.cum_end
),

with_sell as (
    select w.*, s.fill_id as sell_fill_id, s.created_time as sell_time, s.yes_price_dollars as sell_price
    from with_buy as w
    asof left join sells as s
        on s.account = w.account and s.subaccount_number = w.subaccount_number and s.ticker = w.ticker
        and w.piece_end <= s.cum_end
),

final as (
    select
        account,
        subaccount_number,
        ticker,
        cast(piece_start as decimal(18,2)) as lot_start_fp,
        cast(piece_end - piece_start as decimal(18,2)) as quantity_fp,
        case
            when buy_fill_id is not null and sell_fill_id is not null then 'closed'
            when buy_fill_id is not null then 'open_long'
            else 'open_short'
        end as lot_state,
        buy_fill_id,
        buy_time,
        buy_price as buy_price_dollars,
        sell_fill_id,
        sell_time,
        sell_price as sell_price_dollars,
        case when buy_fill_id is not null and sell_fill_id is not null then greatest(buy_time, sell_time) end
            as closed_time,
        case when buy_fill_id is not null and sell_fill_id is not null
            then cast((piece_end - piece_start) * (sell_price - buy_price) as decimal(18,6))
        end as closed_pnl_dollars
    from with_sell
)

select * from final
