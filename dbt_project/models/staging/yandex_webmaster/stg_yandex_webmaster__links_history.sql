-- One row per host and day: how many external links Yandex counts for the host.
with

source as (

    select * from {{ source_or_empty('yandex_webmaster', 'external_links_history', {'date': 'date'}) }}

),

renamed as (

    select
        _account_id as host_id,
        date as date_day,
        cast(_record->>'$.value' as bigint) as total_links,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
