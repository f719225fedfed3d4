-- Backlinks per host and week (Monday start): the week's last link snapshot against the one before it.
with

links as (

    select * from {{ ref('stg_yandex_webmaster__external_links') }}

),

weekly_snapshots as (

    select host_id, cast(date_trunc('week', snapshot_date) as date) as week_start_date, max(snapshot_date) as snapshot_date
    from links
    group by host_id, cast(date_trunc('week', snapshot_date) as date)

),

ordered as (

    select
        *,
        lag(snapshot_date) over (partition by host_id order by week_start_date) as previous_snapshot_date
    from weekly_snapshots

),

snapshot_counts as (

    select
        ordered.host_id,
        ordered.week_start_date,
        count(*) as snapshot_links,
        count(distinct links.source_domain) as referring_domains
    from ordered
    inner join links on links.host_id = ordered.host_id and links.snapshot_date = ordered.snapshot_date
    group by ordered.host_id, ordered.week_start_date

),

lost as (

    select ordered.host_id, ordered.week_start_date, count(*) as lost_links
    from ordered
    inner join links as before
        on before.host_id = ordered.host_id and before.snapshot_date = ordered.previous_snapshot_date
    left join links as now
        on now.host_id = ordered.host_id and now.snapshot_date = ordered.snapshot_date
        and now.source_url = before.source_url and now.destination_url = before.destination_url
    where now.source_url is null
    group by ordered.host_id, ordered.week_start_date

),

-- every link any snapshot listed, once, with the week Yandex found it
distinct_links as (

    select host_id, source_url, destination_url, min(discovery_date) as discovery_date
    from links
    group by host_id, source_url, destination_url

),

new as (

    select host_id, cast(date_trunc('week', discovery_date) as date) as week_start_date, count(*) as new_links
    from distinct_links
    group by host_id, cast(date_trunc('week', discovery_date) as date)

),

history as (

    select
        host_id,
        cast(date_trunc('week', date_day) as date) as week_start_date,
        arg_max(total_links, date_day) as total_links
    from {{ ref('stg_yandex_webmaster__links_history') }}
    group by host_id, cast(date_trunc('week', date_day) as date)

),

weeks as (

    select host_id, week_start_date from ordered
    union
    select host_id, week_start_date from history

)

select
    weeks.host_id,
    weeks.week_start_date,
    ordered.snapshot_date,
    snapshot_counts.referring_domains,
    snapshot_counts.snapshot_links,
    history.total_links,
    coalesce(new.new_links, 0) as new_links,
    case when ordered.previous_snapshot_date is not null then coalesce(lost.lost_links, 0) end as lost_links
from weeks
left join ordered on ordered.host_id = weeks.host_id and ordered.week_start_date = weeks.week_start_date
left join snapshot_counts on snapshot_counts.host_id = weeks.host_id and snapshot_counts.week_start_date = weeks.week_start_date
left join lost on lost.host_id = weeks.host_id and lost.week_start_date = weeks.week_start_date
left join new on new.host_id = weeks.host_id and new.week_start_date = weeks.week_start_date
left join history on history.host_id = weeks.host_id and history.week_start_date = weeks.week_start_date
