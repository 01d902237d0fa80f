-- stg_mve_collections: key (collection_ticker) unique and not null
select collection_ticker, count(*) as n
from stg_mve_collections
group by all
having count(*) > 1
union all
select collection_ticker, 1 as n
from stg_mve_collections
where collection_ticker is null
