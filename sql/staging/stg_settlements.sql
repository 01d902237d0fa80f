-- grain: one row per (_account, subaccount_number, ticker)
-- purpose: the account's settlements (revenue and value in integer cents), deduplicated, per subaccount.
-- Settlement objects do not say their subaccount: the pull reads them per subaccount and stamps
-- subaccount_number (0 = primary). Rows landed before that (subaccount_number null) are taken as subaccount 0
-- (subaccount_assumed = true); a stamped row of the same (ticker, subaccount) wins over them.
with source as (
    select
        * replace (coalesce(subaccount_number, 0) as subaccount_number),
        subaccount_number is null as subaccount_assumed
    from src_settlements
),

ranked as (
    select *, row_number() over (
        partition by _account, subaccount_number, ticker
        order by subaccount_assumed, _loaded_at desc, _run_id desc
    ) as _rn
    from source
    where ticker is not null
),

final as (
    select * exclude (_rn) from ranked where _rn = 1
)

select * from final
