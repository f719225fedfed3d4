-- Search Console per property, Pacific day, page and query (countries and devices summed).
with

query_rows as (

    select * from {{ ref('stg_search_console__query_daily') }}

)

select
    site_url,
    date_day,
    page_path,
    page_url,
    search_query,
    cast(sum(clicks) as bigint) as clicks,
    cast(sum(impressions) as bigint) as impressions,
    {{ safe_divide('sum(clicks)', 'sum(impressions)') }} as ctr,
    -- each row's average position weighted by its impressions, as Search Console averages them
    {{ safe_divide('sum(avg_position * impressions)', 'sum(impressions)') }} as avg_position,
    bool_and(data_state = 'final') as is_final
from query_rows
group by site_url, date_day, page_path, page_url, search_query
